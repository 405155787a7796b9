namespace AppRuntime.Internal;

/// <summary>
/// <c>&lt;app&gt; --hash-password</c>: reads a password (from the terminal without echo, asked twice; or the first line of
/// redirected standard input) and prints its PBKDF2 hash for <c>AppRuntime:ControlPlane:Users:&lt;name&gt;:PasswordHash</c>.
/// </summary>
internal sealed class HashPasswordCommand : IAppRuntimeCommand
{
    public string Name => "hash-password";

    public string Summary => "reads a password from standard input and prints its hash for AppRuntime:ControlPlane:Users:<name>:PasswordHash";

    public async Task<int> RunAsync(TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string? password;
        if (ReferenceEquals(input, Console.In) && !Console.IsInputRedirected)
        {
            password = ReadHidden(error, "Password: ");
            if (password is not null && ReadHidden(error, "Again: ") != password)
            {
                await error.WriteLineAsync("The passwords differ.").ConfigureAwait(false);
                return 1;
            }
        }
        else
        {
            password = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }
        if (string.IsNullOrEmpty(password) || password.Length < ControlPlaneSecrets.MinimumPasswordLength)
        {
            await error.WriteLineAsync($"Give a password of at least {ControlPlaneSecrets.MinimumPasswordLength} characters on standard input.").ConfigureAwait(false);
            return 1;
        }
        await output.WriteLineAsync(ControlPlaneSecrets.HashPassword(password)).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }

    private static string? ReadHidden(TextWriter prompt, string text)
    {
        prompt.Write(text);
        prompt.Flush();
        var chars = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
                break;
            if (key.Key == ConsoleKey.Backspace)
            {
                if (chars.Length > 0)
                    chars.Length--;
                continue;
            }
            if (!char.IsControl(key.KeyChar))
                chars.Append(key.KeyChar);
        }
        prompt.WriteLine();
        return chars.ToString();
    }
}

/// <summary><c>&lt;app&gt; --new-api-key</c>: prints a new random API key (show it once) and the hash to configure.</summary>
internal sealed class NewApiKeyCommand : IAppRuntimeCommand
{
    public string Name => "new-api-key";

    public string Summary => "prints a new API key and its hash for AppRuntime:ControlPlane:ApiKeys:<name>:Hash";

    public async Task<int> RunAsync(TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var (key, hash) = ControlPlaneSecrets.CreateApiKey();
        await output.WriteLineAsync("key:  " + key).ConfigureAwait(false);
        await output.WriteLineAsync("hash: " + hash).ConfigureAwait(false);
        await error.WriteLineAsync("Give the key to the client (it is shown only now); configure the hash as AppRuntime:ControlPlane:ApiKeys:<name>:Hash with a Role.").ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }
}
