using System.Text.Json;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Types;

public class ModelInputTests
{
    [Fact]
    public void ModelInput_FromIntsToIntsAndLength()
    {
        var input = ModelInput.FromInts([5, 6, 7]);
        Assert.Equal([5, 6, 7], input.ToInts());
        Assert.Equal(3, input.Length);
        Assert.IsType<EncodedTextChunk>(Assert.Single(input.Chunks));
        JsonAssert.Equal("""{"chunks":[{"type":"encoded_text","tokens":[5,6,7]}]}""", TinkerJson.Serialize(input));
    }

    [Fact]
    public void ModelInput_EmptyHasNoChunks()
    {
        Assert.Empty(ModelInput.Empty.Chunks);
        Assert.Equal(0, ModelInput.Empty.Length);
        Assert.Equal("""{"chunks":[]}""", TinkerJson.Serialize(ModelInput.Empty));
    }

    [Fact]
    public void ModelInput_AppendReturnsNewInstances()
    {
        var first = ModelInput.FromInts([1, 2]);
        var appended = first.AppendInt(3);
        Assert.Equal([1, 2], first.ToInts());
        Assert.Equal([1, 2, 3], appended.ToInts());
        Assert.Single(appended.Chunks); // token joins the trailing text chunk

        var image = new ImageChunk { Data = [1, 2, 3], Format = "png", ExpectedTokens = 4 };
        var withImage = appended.Append(image).AppendInt(9);
        Assert.Equal(3, withImage.Chunks.Count);
        Assert.Equal(3 + 4 + 1, withImage.Length);
        Assert.Equal(2, appended.Append(image).Chunks.Count);
        Assert.Equal(1, ModelInput.Empty.AppendInt(4).Length);
    }

    [Fact]
    public void ModelInput_ToIntsRejectsImages()
    {
        var input = ModelInput.FromInts([1]).Append(new ImageAssetPointerChunk { Format = "jpeg", Location = "gs://x/y.jpg", ExpectedTokens = 2 });
        var ex = Assert.Throws<InvalidOperationException>(() => input.ToInts());
        Assert.Contains("chunk 1 is ImageAssetPointerChunk", ex.Message);
    }

    [Fact]
    public void ModelInput_FromTextUsesTheEncoder()
    {
        var input = ModelInput.FromText("ab", text => text.Select(c => (int)c).ToArray());
        Assert.Equal([97, 98], input.ToInts());
    }

    [Fact]
    public void ModelInput_ValueEqualityAndImmutability()
    {
        var tokens = new List<int> { 1, 2 };
        var a = ModelInput.FromInts(tokens);
        tokens.Add(3);
        Assert.Equal(2, a.Length);
        Assert.Equal(ModelInput.FromInts([1, 2]), a);
        Assert.Equal(ModelInput.FromInts([1, 2]).GetHashCode(), a.GetHashCode());
        Assert.NotEqual(ModelInput.FromInts([1, 3]), a);
    }

    [Fact]
    public void ImageChunk_LengthNeedsExpectedTokens()
    {
        var chunk = new ImageChunk { Data = [0x89], Format = "png" };
        var ex = Assert.Throws<InvalidOperationException>(() => chunk.Length);
        Assert.Contains("expected_tokens", ex.Message);
        var pointer = new ImageAssetPointerChunk { Format = "png", Location = "s3://b/k.png" };
        Assert.Contains("s3://b/k.png", Assert.Throws<InvalidOperationException>(() => pointer.Length).Message);
        Assert.Equal(7, (chunk with { ExpectedTokens = 7 }).Length);
    }

    [Fact]
    public void ImageChunk_RejectsUnknownFormat()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ImageChunk { Data = [], Format = "gif" });
        Assert.Contains("image.format must be \"png\" or \"jpeg\", got \"gif\"", ex.Message);
        Assert.Throws<JsonException>(() => TinkerJson.Deserialize<ModelInput>(
            """{"chunks":[{"type":"image","data":"AA==","format":"bmp"}]}"""));
    }

    [Fact]
    public void Chunks_DiscriminatorMayComeLastAndIsWritten()
    {
        var input = TinkerJson.Deserialize<ModelInput>(
            """{"chunks":[{"data":"iVBORw==","format":"png","expected_tokens":5,"type":"image"},{"tokens":[1],"type":"encoded_text"}]}""");
        var image = Assert.IsType<ImageChunk>(input.Chunks[0]);
        Assert.Equal(Convert.FromBase64String("iVBORw=="), image.Data);
        Assert.Equal(6, input.Length);
        var json = TinkerJson.Serialize(input);
        Assert.Contains("\"type\":\"image\"", json);
        Assert.Contains("\"data\":\"iVBORw==\"", json);
        Assert.DoesNotContain("length", json);
    }

    [Fact]
    public void Chunks_UnknownTypeIsRejected() =>
        Assert.Throws<JsonException>(() => TinkerJson.Deserialize<ModelInput>("""{"chunks":[{"type":"video","tokens":[1]}]}"""));

    [Fact]
    public void Chunks_PointerRoundTripsWithoutExpectedTokens()
    {
        ModelInputChunk chunk = new ImageAssetPointerChunk { Format = "jpeg", Location = "gs://x/y.jpg" };
        var json = TinkerJson.Serialize(chunk);
        JsonAssert.Equal("""{"type":"image_asset_pointer","format":"jpeg","location":"gs://x/y.jpg"}""", json);
        Assert.Equal(chunk, TinkerJson.Deserialize<ModelInputChunk>(json));
    }
}
