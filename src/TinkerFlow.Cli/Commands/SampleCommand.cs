using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using TinkerFlow.Types;

namespace TinkerFlow.Cli.Commands;

/// <summary><c>tinkerflow sample</c>: completions of a text prompt from sampler weights or a base model.</summary>
internal static class SampleCommand
{
    public static Command Create(CliApp app, GlobalOptions options)
    {
        var command = new Command("sample", "Sample completions of a text prompt (encoded with the model's tokenizer)");
        var modelPath = new Option<string?>("--model-path") { Description = "Weights to sample: tinker://<run>/sampler_weights/<name>", HelpName = "path" };
        var baseModel = new Option<string?>("--base-model") { Description = "Sample a base model instead, e.g. tinkerflow/tiny-qwen3 (see 'tinkerflow models')", HelpName = "name" };
        var prompt = new Option<string>("--prompt", "-p") { Description = "The prompt text", Required = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens to generate per sample", DefaultValueFactory = _ => 32 };
        var temperature = new Option<double>("--temperature", "-t") { Description = "Sampling temperature; 0 picks the most likely token", DefaultValueFactory = _ => 1.0 };
        var numSamples = new Option<int>("--num-samples") { Description = "How many completions", DefaultValueFactory = _ => 1 };
        var seed = new Option<long?>("--seed") { Description = "Seed, for reproducible samples" };
        var stop = new Option<string[]>("--stop") { Description = "Stop at this string (repeatable)", AllowMultipleArgumentsPerToken = false };
        foreach (var option in new Option[] { modelPath, baseModel, prompt, maxTokens, temperature, numSamples, seed, stop })
        {
            command.Add(option);
        }

        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var path = parse.GetValue(modelPath);
            var model = parse.GetValue(baseModel);
            if ((path is null) == (model is null))
            {
                throw new CliUserException(
                    path is null ? "Say what to sample: --model-path or --base-model." : "Pass either --model-path or --base-model, not both.",
                    "E.g. --model-path tinker://<run>/sampler_weights/<name>, or --base-model tinkerflow/tiny-qwen3.");
            }

            if (path is not null)
            {
                _ = CliContext.ParsePath(path);
            }

            var text = parse.GetRequiredValue(prompt);
            if (text.Length == 0)
            {
                throw new CliUserException("--prompt is empty.", "Give some text to continue, e.g. --prompt \"Once upon a time\".");
            }

            var samplingParams = BuildParams(parse.GetValue(maxTokens), parse.GetValue(temperature), parse.GetValue(seed), parse.GetValue(stop));
            var count = parse.GetValue(numSamples);
            if (count < 1)
            {
                throw new CliUserException($"--num-samples must be at least 1, not {count}.");
            }

            var sampler = await context.Service.CreateSamplingClientAsync(modelPath: path, baseModel: model, cancellationToken: cancellationToken).ConfigureAwait(false);
            var tokenizer = await sampler.GetTokenizerAsync(cancellationToken).ConfigureAwait(false);
            var promptTokens = tokenizer.Encode(text);
            var future = await sampler.SampleAsync(WaitUntil.Completed, ModelInput.FromInts(promptTokens), count, samplingParams, cancellationToken: cancellationToken).ConfigureAwait(false);
            var sequences = future.Value.Sequences;
            if (context.Json)
            {
                var samples = new JsonArray();
                foreach (var sequence in sequences)
                {
                    var node = CliContext.ToNode(sequence)!.AsObject();
                    node["text"] = tokenizer.Decode(sequence.Tokens);
                    samples.Add(node);
                }

                context.WriteJson(new JsonObject
                {
                    ["model_path"] = path,
                    ["base_model"] = model,
                    ["prompt"] = text,
                    ["prompt_tokens"] = new JsonArray(promptTokens.Select(t => (JsonNode)t).ToArray()),
                    ["samples"] = samples,
                });
                return ExitCodes.Success;
            }

            for (var i = 0; i < sequences.Count; i++)
            {
                var sequence = sequences[i];
                var reason = sequence.StopReason == StopReason.Length ? "length" : "stop";
                context.Console.Write(new Panel(new Text(tokenizer.Decode(sequence.Tokens)))
                    .Header(Markup.Escape($"sample {i + 1} ({sequence.Tokens.Count} tokens, stopped: {reason})"))
                    .Expand());
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static SamplingParams BuildParams(int maxTokens, double temperature, long? seed, string[]? stop)
    {
        if (maxTokens < 1)
        {
            throw new CliUserException($"--max-tokens must be at least 1, not {maxTokens}.");
        }

        if (temperature < 0 || double.IsNaN(temperature))
        {
            throw new CliUserException($"--temperature must be 0 or more, not {temperature}.", "0 picks the most likely token; 1 samples the model's distribution.");
        }

        return new SamplingParams
        {
            MaxTokens = maxTokens,
            Temperature = temperature,
            Seed = seed,
            Stop = stop is { Length: > 0 } ? StopCondition.FromStrings(stop) : null,
        };
    }
}
