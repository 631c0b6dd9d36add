using Spectre.Console;
using TinkerFlow.Cli;

var app = new CliApp(AnsiConsole.Console, Console.Error, Console.IsInputRedirected ? Console.In : null);
return await app.RunAsync(args);
