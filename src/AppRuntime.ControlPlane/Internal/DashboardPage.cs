using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace AppRuntime.Internal;

/// <summary>
/// The dashboard: one self-contained HTML page embedded in the assembly. It is served with a Content-Security-Policy that allows
/// only its own inline script and style (by hash) and requests to this origin.
/// </summary>
internal sealed partial class DashboardPage
{
    /// <summary>The dashboard page.</summary>
    public const string DashboardResource = "AppRuntime.ControlPlane.dashboard.html";

    /// <summary>The sign-in page.</summary>
    public const string LoginResource = "AppRuntime.ControlPlane.login.html";
    private readonly byte[] _html;
    private readonly string _csp;

    private DashboardPage(byte[] html, string csp)
    {
        _html = html;
        _csp = csp;
    }

    public static DashboardPage Load(string resourceName)
    {
        using var stream = typeof(DashboardPage).Assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"The page resource '{resourceName}' is missing from {typeof(DashboardPage).Assembly.GetName().Name}.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var html = buffer.ToArray();
        var text = Encoding.UTF8.GetString(html);
        var scripts = string.Join(' ', ScriptPattern().Matches(text).Select(m => Hash(m.Groups[1].Value)));
        var styles = string.Join(' ', StylePattern().Matches(text).Select(m => Hash(m.Groups[1].Value)));
        var csp = $"default-src 'none'; script-src {scripts}; style-src {styles}; connect-src 'self'; img-src 'self' data:; " +
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        return new DashboardPage(html, csp);
    }

    public Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.ContentSecurityPolicy = _csp;
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.XFrameOptions = "DENY";
        response.ContentLength = _html.Length;
        return response.Body.WriteAsync(_html, context.RequestAborted).AsTask();
    }

    private static string Hash(string content) => "'sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(content))) + "'";

    [GeneratedRegex("<script>(.*?)</script>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex ScriptPattern();

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex StylePattern();
}
