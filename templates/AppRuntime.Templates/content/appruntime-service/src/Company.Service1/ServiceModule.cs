using AppRuntime;
#if (imap)
using AppRuntime.Mail;
#endif

namespace Company.Service1;

/// <summary>
/// The service: one queue, its worker pool (<c>Service:Workers</c> sets the workers, default 2) and, in Sources/ and Handlers/,
/// the source that fills the queue and the handler of its tasks. The generator turns these declarations into
/// <c>AddServiceModule()</c>; a mistake in them (a queue name that does not match, a dependency nobody provides) is a build error.
/// </summary>
[ApplicationModule("company.service1")]
#if (timer)
[TaskQueue<WorkItem>("work", Capacity = 1000)]
#else
[TaskQueue<ImapMessage>("work", Capacity = 1000)]
#endif
[WorkerPool("work", Workers = 2, MaxAttempts = 5, RetryDelayMilliseconds = 1000, WorkersConfigKey = "Service:Workers")]
public static partial class ServiceModule;
