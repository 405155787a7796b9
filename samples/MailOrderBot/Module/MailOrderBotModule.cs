using AppRuntime;
using AppRuntime.Mail;

namespace MailOrderBot.Module;

/// <summary>
/// The Mail Order Bot: one queue of emails (<see cref="ImapMessage"/>, whichever source produced them), a pool of workers
/// (<c>MailOrderBot:Workers</c>, default 4: the pool's worker-count key, which the runtime binds and checks at start) and the
/// order handler. The source is chosen by <c>MailOrderBot:Source:Mode</c>.
/// </summary>
[ApplicationModule("mail-order-bot")]
[TaskQueue<ImapMessage>("orders", Capacity = 1000)]
[WorkerPool("orders", Workers = 4, MaxAttempts = 5, RetryDelayMilliseconds = 500, WorkersConfigKey = "MailOrderBot:Workers")]
public static partial class MailOrderBotModule;
