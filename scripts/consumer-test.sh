#!/usr/bin/env bash
# Consumer test: packs the libraries, then builds and runs a program that uses them the way a user outside this
# repository does — `dotnet new console` in a temporary folder, a nuget.config whose only TinkerFlow source is
# artifacts/packages, package references by version, no file of the repository. The program trains the built-in
# model with `new ServiceClient()` (no set-up) for 3 steps through the Dataflow training stage with a TorchSharp
# custom loss, and fails unless the loss falls at every step. Prints "consumer test: passed" or exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
repo="$PWD"
libraries=(TinkerFlow TinkerFlow.Local TinkerFlow.Dataflow TinkerFlow.Torch)

start=$SECONDS
bash scripts/pack.sh "${libraries[@]}" >/dev/null
version=$(basename "$(ls artifacts/packages/TinkerFlow.Local.[0-9]*.nupkg)" .nupkg)
version=${version#TinkerFlow.Local.}
echo "[consumer] packed ${libraries[*]} $version in $((SECONDS - start)) s"

work=$(mktemp -d /tmp/tinkerflow-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Third-party packages come from this machine's NuGet cache (read-only fallback) or nuget.org; TinkerFlow.* only from
# artifacts/packages, extracted into a fresh cache of this run, so no stale TinkerFlow package can be picked up.
global=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
rm -rf "$global"/tinkerflow "$global"/tinkerflow.*
mkdir -p "$work/app"
cat > "$work/app/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config>
    <add key="globalPackagesFolder" value="$work/packages" />
  </config>
  <fallbackPackageFolders>
    <add key="machine" value="$global" />
  </fallbackPackageFolders>
  <packageSources>
    <clear />
    <add key="tinkerflow" value="$repo/artifacts/packages" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="tinkerflow">
      <package pattern="TinkerFlow" />
      <package pattern="TinkerFlow.*" />
    </packageSource>
    <packageSource key="nuget.org">
      <package pattern="*" />
    </packageSource>
  </packageSourceMapping>
</configuration>
EOF

cd "$work/app"
dotnet new console --name Consumer --output . --framework net10.0 --no-restore >/dev/null
for id in "${libraries[@]}"; do
  dotnet add package "$id" --version "$version" --no-restore >/dev/null
done
cat > Program.cs <<'EOF'
using System.Threading.Tasks.Dataflow;
using TinkerFlow;
using TinkerFlow.Dataflow;
using TinkerFlow.Torch;
using TinkerFlow.Types;
using TorchSharp;

// No backend, no URL, no set-up call: the TinkerFlow.Local package registered its embedded engine.
await using var service = new ServiceClient();
Console.WriteLine($"backend: {service.Backend.Name}");
var training = await service.CreateLoraTrainingClientAsync("tinkerflow/tiny-qwen3", rank: 8, seed: 1);
var tokenizer = await training.GetTokenizerAsync();
string[] texts = ["12 + 30 = 42", "The cat sat on the mat.", "Paris is the capital of France."];
var batch = texts.Select(text =>
{
    var ids = tokenizer.Encode(text);
    return Datum.Create(ModelInput.FromInts(ids.Take(ids.Count - 1)), new Dictionary<string, object> { ["target_tokens"] = ids.Skip(1).ToArray() });
}).ToList();

// The Dataflow training stage with a TorchSharp loss: 3 steps on the same batch, the next one submitted ahead.
var stage = new TrainingStage(training, new TrainingStageOptions
{
    SubmitAhead = 1,
    Loss = TrainingLoss.Custom("mean_nll", (client, batch, ct) => client.ForwardBackwardCustomAsync(WaitUntil.Started, batch, MeanNll, ct)),
    AdamParams = _ => new AdamParams { LearningRate = 1e-2 },
    TotalSteps = 3,
});
var losses = new List<double>();
var sink = new ActionBlock<TrainStepResult>(r => losses.Add(r.ForwardBackward.Average(f => f.Metrics["custom_loss"])));
stage.Output.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
for (var step = 0; step < 3; step++)
{
    await stage.Input.SendAsync(batch);
}

stage.Input.Complete();
await stage.Completion;
await sink.Completion;
Console.WriteLine($"loss (mean NLL per token): {string.Join(" -> ", losses.Select(l => l.ToString("F4")))}");
if (losses.Count != 3 || !(losses[1] < losses[0] && losses[2] < losses[1]))
{
    Console.Error.WriteLine("consumer: the loss did not fall at every step");
    return 1;
}

Console.WriteLine("consumer: ok");
return 0;

// Mean negative log-likelihood per target token, written with TorchSharp; autograd gives the gradient.
static TorchLossResult MeanNll(IReadOnlyList<Datum> data, IReadOnlyList<torch.Tensor> logprobs)
{
    var tokens = logprobs.Sum(l => l.numel());
    var total = logprobs.Select(l => l.sum()).Aggregate((a, b) => a + b);
    return new TorchLossResult(-total / tokens, new Dictionary<string, double> { ["tokens"] = tokens });
}
EOF

export TINKERFLOW_HOME="$work/home" XDG_CACHE_HOME="$work/cache"
build_start=$SECONDS
dotnet build -c Release -nologo -v quiet -clp:ErrorsOnly
echo "[consumer] restored and built in $((SECONDS - build_start)) s"
run_start=$SECONDS
dotnet run -c Release --no-build
echo "[consumer] ran in $((SECONDS - run_start)) s; total $((SECONDS - start)) s"
echo "consumer test: passed"
