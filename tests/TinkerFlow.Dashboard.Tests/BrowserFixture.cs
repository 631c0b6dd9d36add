using Microsoft.Playwright;

namespace TinkerFlow.Dashboard.Tests;

/// <summary>
/// One headless chromium for the browser tests: Debian's <c>/usr/bin/chromium</c> driven by Playwright, which never
/// downloads a browser here. Started on first use, so the plain HTTP tests run without it.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] s_arguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>The shared browser; fails the test with the install command when chromium is missing.</summary>
    public async Task<IBrowser> GetBrowserAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            Assert.Fail($"The dashboard browser tests need chromium at {ChromiumPath}: run `apt-get install -y chromium` (as root; `apt-get update` first if needed). scripts/setup.sh installs it when run as root.");
        }

        await _gate.WaitAsync();
        try
        {
            if (_browser is null)
            {
                Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
                _playwright = await Playwright.CreateAsync();
                _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
                {
                    ExecutablePath = ChromiumPath,
                    Headless = true,
                    Args = s_arguments,
                    Timeout = 60_000,
                });
            }

            return _browser;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A fresh page (its own context, so sessionStorage starts empty) with browser errors collected.</summary>
    public async Task<(IBrowserContext Context, IPage Page, List<string> Errors)> NewPageAsync()
    {
        var browser = await GetBrowserAsync();
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, message) => errors.Add(message);
        page.Console += (_, message) =>
        {
            // A refused request (401 for a wrong key) is logged by the browser itself; only script errors count.
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                errors.Add(message.Text);
            }
        };
        return (context, page, errors);
    }

    /// <summary>Saves a full-page PNG when <c>TINKERFLOW_DASHBOARD_SCREENSHOTS</c> names a folder (to look at the page).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        var folder = Environment.GetEnvironmentVariable("TINKERFLOW_DASHBOARD_SCREENSHOTS");
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name + ".png"), FullPage = true });
        }
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        _gate.Dispose();
    }
}
