using System.Text;
using TinkerFlow.Local.Tests.Model;
using TinkerFlow.Local.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Weights;

[Collection("Torch")]
public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tf-st-" + Guid.NewGuid().ToString("N"));

    public SafeTensorsTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static Dictionary<string, Tensor> AllDtypes() => new()
    {
        ["f32"] = torch.arange(12, ScalarType.Float32).reshape(3, 4) / 7,
        ["f16"] = (torch.arange(6, ScalarType.Float32) / 3).to(ScalarType.Float16),
        ["bf16"] = (torch.arange(6, ScalarType.Float32).reshape(2, 3) - 2.5f).to(ScalarType.BFloat16),
        ["i64"] = torch.tensor(new long[] { long.MinValue, -1, 0, long.MaxValue }),
        ["i32"] = torch.tensor(new[] { int.MinValue, 7, int.MaxValue }),
        ["scalar"] = torch.tensor(3.5f),
        ["empty"] = torch.zeros(0, 5),
    };

    [Fact]
    public void SafeTensors_RoundTripsEveryDtype()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = AllDtypes();
        string path = Path.Combine(_directory, "all.safetensors");

        SafeTensorsWriter.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        using var reader = new SafeTensorsReader(path);

        Assert.Equal("pt", reader.Metadata["format"]);
        Assert.Equal(0, (new FileInfo(path).Length - 8 - reader.Entries.Values.Sum(e => e.ByteLength)) % 8);
        foreach (var (name, tensor) in tensors)
        {
            var read = reader.ReadTensor(name);
            Assert.Equal(tensor.dtype, read.dtype);
            Assert.Equal(tensor.shape, read.shape);
            Assert.True(tensor.equal(read).all().item<bool>(), name);
        }
        Assert.Equal("BF16", reader.Entries["bf16"].Dtype);
    }

    [Fact]
    public void SafeTensors_ShardedRoundTrip()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = AllDtypes();

        string index = SafeTensorsIndex.Save(_directory, tensors, maxShardBytes: 40);
        var loaded = SafeTensorsIndex.Load(index);

        Assert.True(Directory.GetFiles(_directory, "model-*-of-*.safetensors").Length > 1);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, tensor) in tensors)
        {
            Assert.True(tensor.equal(loaded[name]).all().item<bool>(), name);
        }
    }

    [Theory]
    [InlineData("short", "file is 4 bytes, too short for the 8-byte header length")]
    [InlineData("huge-header", "bad header length 1000000 (file is 40 bytes); the file is truncated or not safetensors")]
    [InlineData("not-json", "header is not valid JSON")]
    [InlineData("unknown-dtype", "tensor 'w' has unknown dtype 'Q4' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)")]
    [InlineData("past-end", "tensor 'w' data_offsets [0, 16] run past the end of the data (8 bytes); the file is truncated")]
    [InlineData("size-mismatch", "tensor 'w' shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8")]
    [InlineData("no-offsets", "tensor 'w' needs dtype (string), shape (array) and data_offsets ([begin, end])")]
    public void SafeTensors_RejectsBadFiles(string kind, string problem)
    {
        string path = Path.Combine(_directory, kind + ".safetensors");
        File.WriteAllBytes(path, kind switch
        {
            "short" => [1, 2, 3, 4],
            "huge-header" => [.. BitConverter.GetBytes(1_000_000UL), .. new byte[32]],
            "not-json" => Build("{oops", 8),
            "unknown-dtype" => Build("""{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}""", 8),
            "past-end" => Build("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8),
            "size-mismatch" => Build("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8),
            "no-offsets" => Build("""{"w":{"dtype":"F32","shape":[2]}}""", 8),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        });

        var error = Assert.Throws<InvalidDataException>(() => new SafeTensorsReader(path));

        Assert.StartsWith($"{path}: invalid safetensors file: {problem}", error.Message);
    }

    [Fact]
    public void SafeTensors_MissingFileNamesThePath()
    {
        string path = Path.Combine(_directory, "nope.safetensors");

        var error = Assert.Throws<FileNotFoundException>(() => new SafeTensorsReader(path));

        Assert.Equal($"safetensors file not found: {path}", error.Message);
    }

    private static byte[] Build(string header, int dataBytes)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        return [.. BitConverter.GetBytes((ulong)json.Length), .. json, .. new byte[dataBytes]];
    }
}
