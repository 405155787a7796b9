using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>
/// A headless Chromium driven over the Chrome DevTools Protocol with <see cref="ClientWebSocket"/> (no extra packages).
/// Each instance starts its own browser with a throw-away profile and ends it on dispose.
/// </summary>
internal sealed class Cdp : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private Task _receiver = Task.CompletedTask;
    private int _nextId;
    private string? _session;

    private Cdp(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>JavaScript exceptions and console errors the page produced.</summary>
    public ConcurrentQueue<string> PageErrors { get; } = new();

    public static string ExecutablePath => Environment.GetEnvironmentVariable("APPRUNTIME_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static async Task<Cdp> LaunchAsync(int width, int height)
    {
        if (!File.Exists(ExecutablePath))
            throw new InvalidOperationException($"Chromium is not installed at {ExecutablePath}: run `bash tests/infra/chromium.sh start` (installs the Debian package chromium), or set APPRUNTIME_CHROMIUM.");
        var profile = Directory.CreateTempSubdirectory("appruntime-chromium-").FullName;
        var start = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--hide-scrollbars", "--mute-audio", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            $"--user-data-dir={profile}", $"--window-size={width},{height}", "about:blank",
        })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("Chromium did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var cdp = new Cdp(process, profile);
        try
        {
            await cdp.ConnectAsync(width, height);
        }
        catch
        {
            await cdp.DisposeAsync();
            throw;
        }
        return cdp;
    }

    private async Task ConnectAsync(int width, int height)
    {
        // Chromium writes the chosen port and the browser target's path to DevToolsActivePort in the profile.
        var file = Path.Combine(_profile, "DevToolsActivePort");
        var deadline = Stopwatch.StartNew();
        string[] lines = [];
        while (lines.Length < 2)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"Chromium exited with code {_process.ExitCode} before opening the DevTools port.");
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                throw new TimeoutException("Chromium did not open its DevTools port within 30 s.");
            if (File.Exists(file))
                lines = (await File.ReadAllLinesAsync(file)).Where(l => l.Length > 0).ToArray();
            if (lines.Length < 2)
                await Task.Delay(50);
        }
        await _socket.ConnectAsync(new Uri($"ws://127.0.0.1:{lines[0]}{lines[1]}"), CancellationToken.None);
        _receiver = Task.Run(ReceiveLoopAsync);

        var target = await SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, session: false);
        var attached = await SendAsync("Target.attachToTarget", new JsonObject { ["targetId"] = target.GetProperty("targetId").GetString(), ["flatten"] = true }, session: false);
        _session = attached.GetProperty("sessionId").GetString();
        await SendAsync("Page.enable");
        await SendAsync("Runtime.enable");
        await SendAsync("Log.enable");
        await SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });
    }

    public async Task<JsonElement> SendAsync(string method, JsonObject? parameters = null, bool session = true)
    {
        var id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        if (session && _session is not null)
            message["sessionId"] = _session;
        var tcs = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
        return await tcs.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                    break;
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                    continue;
                Dispatch(message.ToArray());
                message.SetLength(0);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        foreach (var pending in _pending.Values)
            pending.TrySetException(new InvalidOperationException("The DevTools connection closed."));
    }

    private void Dispatch(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetInt32(), out var tcs))
        {
            if (root.TryGetProperty("error", out var error))
                tcs.TrySetException(new InvalidOperationException("DevTools error: " + error.GetRawText()));
            else
                tcs.TrySetResult(root.GetProperty("result").Clone());
            return;
        }
        if (!root.TryGetProperty("method", out var method))
            return;
        switch (method.GetString())
        {
            case "Runtime.exceptionThrown":
                PageErrors.Enqueue("exception: " + root.GetProperty("params").GetProperty("exceptionDetails").GetRawText());
                break;
            case "Runtime.consoleAPICalled" when root.GetProperty("params").GetProperty("type").GetString() == "error":
                PageErrors.Enqueue("console.error: " + root.GetProperty("params").GetProperty("args").GetRawText());
                break;
            case "Log.entryAdded" when root.GetProperty("params").GetProperty("entry").GetProperty("level").GetString() == "error":
                PageErrors.Enqueue("log: " + root.GetProperty("params").GetProperty("entry").GetProperty("text").GetString());
                break;
        }
    }

    public async Task NavigateAsync(string url)
    {
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        await WaitAsync("document.readyState === 'complete'", "the page loads");
    }

    /// <summary>Evaluates an expression in the page and returns its value (promises are awaited).</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result.TryGetProperty("exceptionDetails", out var exception))
            throw new InvalidOperationException($"`{expression}` threw: {exception.GetRawText()}");
        var value = result.GetProperty("result");
        return value.TryGetProperty("value", out var v) ? v.Clone() : default;
    }

    public async Task<string?> TextAsync(string selector)
    {
        var value = await EvaluateAsync($"(() => {{ const e = document.querySelector({JsonSerializer.Serialize(selector, CdpJson.Default.String)}); return e ? e.textContent : null; }})()");
        return value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    /// <summary>Waits until a JavaScript condition is true, with a deadline.</summary>
    public async Task WaitAsync(string condition, string because, TimeSpan? timeout = null)
    {
        await AppRuntime.TestSupport.Eventually.TrueAsync(async () =>
        {
            try
            {
                var value = await EvaluateAsync($"!!({condition})");
                return value.ValueKind == JsonValueKind.True;
            }
            catch (InvalidOperationException ex) when (ex.Message.Contains("navigated or closed", StringComparison.Ordinal)
                || ex.Message.Contains("Cannot find context", StringComparison.Ordinal)
                || ex.Message.Contains("Execution context was destroyed", StringComparison.Ordinal))
            {
                // The page is navigating (a sign-in that redirects, a reload): ask the new page at the next look.
                return false;
            }
        }, because, timeout ?? TimeSpan.FromSeconds(20));
    }

    /// <summary>Clicks the centre of the element like a user: scrolls it into view and sends mouse press and release.</summary>
    public async Task ClickAsync(string selector)
    {
        var box = await EvaluateAsync($$"""
            (() => {
              const e = document.querySelector({{JsonSerializer.Serialize(selector, CdpJson.Default.String)}});
              if (!e) return null;
              e.scrollIntoView({ block: 'center' });
              const r = e.getBoundingClientRect();
              return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
            })()
            """);
        if (box.ValueKind != JsonValueKind.Object)
            throw new InvalidOperationException($"No element matches {selector}.");
        var x = box.GetProperty("x").GetDouble();
        var y = box.GetProperty("y").GetDouble();
        foreach (var type in new[] { "mouseMoved", "mousePressed", "mouseReleased" })
        {
            await SendAsync("Input.dispatchMouseEvent", new JsonObject
            {
                ["type"] = type, ["x"] = x, ["y"] = y, ["button"] = type == "mouseMoved" ? "none" : "left", ["clickCount"] = type == "mouseMoved" ? 0 : 1,
            });
        }
    }

    /// <summary>Moves the mouse pointer to a point of the viewport.</summary>
    public Task MoveMouseAsync(double x, double y) =>
        SendAsync("Input.dispatchMouseEvent", new JsonObject { ["type"] = "mouseMoved", ["x"] = x, ["y"] = y, ["button"] = "none" });

    /// <summary>Types text into the focused element as keyboard input.</summary>
    public Task InsertTextAsync(string text) => SendAsync("Input.insertText", new JsonObject { ["text"] = text });

    /// <summary>Captures the whole page as PNG.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var metrics = await SendAsync("Page.getLayoutMetrics");
        var size = metrics.GetProperty("cssContentSize");
        var clip = new JsonObject
        {
            ["x"] = 0, ["y"] = 0, ["width"] = Math.Ceiling(size.GetProperty("width").GetDouble()), ["height"] = Math.Ceiling(size.GetProperty("height").GetDouble()), ["scale"] = 1,
        };
        var shot = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true, ["clip"] = clip });
        return Convert.FromBase64String(shot.GetProperty("data").GetString()!);
    }

    /// <summary>Captures one element (scrolled into view) as PNG.</summary>
    public async Task<byte[]> ScreenshotElementAsync(string selector)
    {
        var box = await EvaluateAsync($$"""
            (() => {
              const e = document.querySelector({{JsonSerializer.Serialize(selector, CdpJson.Default.String)}});
              if (!e) return null;
              const r = e.getBoundingClientRect();
              return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height };
            })()
            """);
        if (box.ValueKind != JsonValueKind.Object)
            throw new InvalidOperationException($"No element matches {selector}.");
        var clip = new JsonObject
        {
            ["x"] = box.GetProperty("x").GetDouble(), ["y"] = box.GetProperty("y").GetDouble(),
            ["width"] = Math.Ceiling(box.GetProperty("width").GetDouble()), ["height"] = Math.Ceiling(box.GetProperty("height").GetDouble()), ["scale"] = 1,
        };
        var shot = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true, ["clip"] = clip });
        return Convert.FromBase64String(shot.GetProperty("data").GetString()!);
    }

    /// <summary>Page errors other than failed resource loads (a refused request is expected in access tests; exceptions and CSP violations are not).</summary>
    public IEnumerable<string> UnexpectedErrors => PageErrors.Where(e => !e.Contains("Failed to load resource", StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                _session = null;
                await SendAsync("Browser.close", session: false).WaitAsync(TimeSpan.FromSeconds(5));
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or WebSocketException)
        {
            // The browser closes the socket as it exits; a missing answer is expected.
        }
        await _stop.CancelAsync();
        await _receiver;
        if (!_process.HasExited)
        {
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(exit.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
        _socket.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // Chromium helpers may still hold files for a moment; the temp folder is disposable.
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class CdpJson : System.Text.Json.Serialization.JsonSerializerContext;
