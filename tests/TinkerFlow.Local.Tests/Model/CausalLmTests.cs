using System.Runtime.CompilerServices;
using TinkerFlow.Local.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Model;

[Collection("Torch")]
public sealed class CausalLmTests
{
    [Fact]
    public void CausalLm_Qwen3ParameterShapesMatchApproved()
    {
        using var model = new CausalLm(TinyModels.Qwen3());

        string received = string.Join("\n", model.state_dict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.shape)}]")) + "\n";

        Approve(received, "CausalLm_Qwen3Tiny");
    }

    [Fact]
    public void CausalLm_TiedEmbeddingsShareOneWeight()
    {
        using var tied = TinyModels.Build(TinyModels.Qwen3(tied: true));
        using var untied = TinyModels.Build(TinyModels.Qwen3(tied: false));

        Assert.DoesNotContain("lm_head.weight", tied.state_dict().Keys);
        Assert.Contains("lm_head.weight", untied.state_dict().Keys);
        Assert.Equal(untied.ParameterCount - 50 * 32, tied.ParameterCount);

        // Changing the embedding changes the output projection too.
        using var ids = TinyModels.Tokens(1, 4, 50);
        using var before = tied.forward(ids);
        using (torch.no_grad())
        {
            tied.model.embed_tokens.weight!.narrow(0, 7, 1).add_(1.0);
        }
        using var after = tied.forward(ids);
        Assert.True(TinyModels.MaxAbsDiff(before.select(2, 7), after.select(2, 7)) > 1e-3);
    }

    [Fact]
    public void CausalLm_GroupedQueryAttentionEqualsRepeatedHeads()
    {
        // A model with 2 KV heads must equal a 4-KV-head model whose K/V projections repeat each head twice.
        using var gqa = TinyModels.Build(TinyModels.Qwen3(kvHeads: 2));
        using var mha = new CausalLm(TinyModels.Qwen3(kvHeads: 4));
        var source = gqa.state_dict();
        using (torch.no_grad())
        {
            foreach (var (key, target) in mha.state_dict())
            {
                var value = source[key];
                if (key.EndsWith("k_proj.weight", StringComparison.Ordinal) || key.EndsWith("v_proj.weight", StringComparison.Ordinal))
                {
                    // [Hkv·D, C] → [Hkv, 1, D, C] → [Hkv, 2, D, C] → [2·Hkv·D, C]
                    value = value.view(2, 1, 8, 32).expand(2, 2, 8, 32).reshape(32, 32);
                }
                target.copy_(value);
            }
        }
        using var ids = TinyModels.Tokens(2, 7, 50);

        using var expected = mha.forward(ids);
        using var actual = gqa.forward(ids);

        Assert.Equal([2L, 7, 50], actual.shape);
        Assert.True(TinyModels.MaxAbsDiff(expected, actual) < 1e-5);
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("llama3")]
    public void CausalLm_RopeScalingRunsAndChangesLogits(string type)
    {
        var scaling = type == "linear" ? new RopeScaling("linear", 4) : new RopeScaling("llama3", 8, 1, 4, 16);
        using var plain = TinyModels.Build(TinyModels.Llama());
        using var scaled = TinyModels.Build(TinyModels.Llama(scaling: scaling));
        using var ids = TinyModels.Tokens(1, 20, 50);

        using var plainLogits = plain.forward(ids);
        using var scaledLogits = scaled.forward(ids);

        Assert.True(scaledLogits.isfinite().all().item<bool>());
        // Position 0 has no rotation, so only later positions differ.
        Assert.True(TinyModels.MaxAbsDiff(plainLogits.select(1, 0), scaledLogits.select(1, 0)) < 1e-5);
        Assert.True(TinyModels.MaxAbsDiff(plainLogits, scaledLogits) > 1e-4);
    }

    [Fact]
    public void CausalLm_RightPaddedBatchMatchesRowsAlone()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        int[] lengths = [3, 6, 4];
        using var ids = TinyModels.Tokens(3, 6, 50);
        using var mask = torch.tensor(lengths.SelectMany(l => Enumerable.Range(0, 6).Select(t => t < l)).ToArray(), [3, 6]);

        using var batched = model.forward(ids, mask);

        for (int row = 0; row < 3; row++)
        {
            using var alone = model.forward(ids.narrow(0, row, 1).narrow(1, 0, lengths[row]));
            using var fromBatch = batched.narrow(0, row, 1).narrow(1, 0, lengths[row]);
            Assert.True(TinyModels.MaxAbsDiff(alone, fromBatch) < 1e-5, $"row {row}");
        }
    }

    [Fact]
    public void CausalLm_SameSeedSameWeights()
    {
        using var a = TinyModels.Build(TinyModels.Qwen3(), seed: 5);
        using var b = TinyModels.Build(TinyModels.Qwen3(), seed: 5);
        using var ids = TinyModels.Tokens(1, 5, 50);

        using var la = a.forward(ids);
        using var lb = b.forward(ids);

        Assert.Equal(0.0, TinyModels.MaxAbsDiff(la, lb));
    }

    private static void Approve(string received, string name, [CallerFilePath] string callerPath = "")
    {
        string folder = Path.Combine(Path.GetDirectoryName(callerPath)!, "Approvals");
        string approvedPath = Path.Combine(folder, name + ".approved.txt");
        string receivedPath = Path.Combine(folder, name + ".received.txt");
        string approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath) : "";
        if (approved != received)
        {
            File.WriteAllText(receivedPath, received);
            Assert.Fail($"{name}: output differs from {approvedPath}; compare with {receivedPath} and copy it over if the change is intended.");
        }
        File.Delete(receivedPath);
    }
}
