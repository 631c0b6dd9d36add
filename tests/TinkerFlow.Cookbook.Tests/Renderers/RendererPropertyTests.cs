using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Tests.Fakes;

namespace TinkerFlow.Cookbook.Tests.Renderers;

public class RendererPropertyTests
{
    public static TheoryData<string> Renderers() => [.. RenderFormat.RendererNames];

    [Theory]
    [MemberData(nameof(Renderers))]
    public void Renderer_GenerationPromptIsUntrainedPrefixOfSupervisedExample(string rendererName)
    {
        var renderer = RenderFormat.Create(rendererName);
        IReadOnlyList<Message> history = [Message.System("Be brief."), Message.User("Hi there")];

        var prompt = renderer.BuildGenerationPrompt(history).ToInts();
        var (input, weights) = renderer.BuildSupervisedExample([.. history, Message.Assistant("Hello!")]);
        var tokens = input.ToInts();

        Assert.Equal(prompt, tokens[..prompt.Length]);
        Assert.All(weights[..prompt.Length], w => Assert.Equal(0f, w));
        Assert.All(weights[prompt.Length..], w => Assert.Equal(1f, w));
    }

    [Theory]
    [MemberData(nameof(Renderers))]
    public void Renderer_ParseResponse_RoundTripsSupervisedCompletion(string rendererName)
    {
        var renderer = RenderFormat.Create(rendererName);
        IReadOnlyList<Message> history = [Message.User("Say hello")];
        var promptLength = renderer.BuildGenerationPrompt(history).Length;
        var completion = renderer.BuildSupervisedExample([.. history, Message.Assistant("Hello, world.")]).ModelInput.ToInts()[promptLength..];

        var (message, parsedOk) = renderer.ParseResponse(completion);
        var (truncated, truncatedOk) = renderer.ParseResponse(completion[..5]);

        Assert.True(parsedOk);
        Assert.Equal(Message.Assistant("Hello, world."), message);
        Assert.False(truncatedOk);
        Assert.Equal(MessageRoles.Assistant, truncated.Role);
    }

    [Fact]
    public void Qwen3Renderer_MissingSpecialToken_NamesTokenAndTokenizer()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Qwen3Renderer(FakeTokenizer.Plain()));

        Assert.Contains("'<|im_start|>'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("fake-bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Llama3Renderer_QwenTokenizer_ThrowsClearError()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Llama3Renderer(FakeTokenizer.Qwen3()));

        Assert.Contains("<|begin_of_text|>", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Renderer_StopSequences_AreEndOfTurnTokensOrStopString()
    {
        var qwen = new Qwen3Renderer(FakeTokenizer.Qwen3());
        var llama = new Llama3Renderer(FakeTokenizer.Llama3());
        var roleColon = new RoleColonRenderer(FakeTokenizer.Plain());

        Assert.Equal([FakeTokenizer.Qwen3().TokenToId("<|im_end|>")!.Value], qwen.GetStopSequences().TokenIds!);
        Assert.Equal([FakeTokenizer.Llama3().TokenToId("<|eot_id|>")!.Value], llama.GetStopSequences().TokenIds!);
        Assert.Equal(["\n\nUser:"], roleColon.GetStopSequences().Strings!);
    }

    [Fact]
    public void Qwen3Renderer_SpecialTokenIds_ListTemplateTokens()
    {
        var tokenizer = FakeTokenizer.Qwen3();
        var renderer = new Qwen3Renderer(tokenizer);

        Assert.Equal(new HashSet<int> { tokenizer.TokenToId("<|im_start|>")!.Value, tokenizer.TokenToId("<|im_end|>")!.Value }, renderer.SpecialTokenIds);
    }

    [Fact]
    public void Qwen3Renderer_StripsThinkingOnlyBeforeLastUserMessage()
    {
        var renderer = new Qwen3Renderer(FakeTokenizer.Qwen3());
        var keep = new Qwen3Renderer(FakeTokenizer.Qwen3(), stripThinkingFromHistory: false);

        var text = renderer.Tokenizer.Decode(renderer.BuildSupervisedExample(RenderFormat.Conversation).ModelInput.ToInts());
        var kept = keep.Tokenizer.Decode(keep.BuildSupervisedExample(RenderFormat.Conversation).ModelInput.ToInts());

        Assert.DoesNotContain("2 plus 3", text, StringComparison.Ordinal);
        Assert.Contains("<think>4 times 5.</think>", text, StringComparison.Ordinal);
        Assert.Contains("<think>2 plus 3 is 5.</think>", kept, StringComparison.Ordinal);
    }

    [Fact]
    public void Renderer_Customized_RequiresTrainableOnEveryMessage()
    {
        var renderer = new Qwen3Renderer(FakeTokenizer.Qwen3());

        var missing = Assert.Throws<ArgumentException>(() => renderer.BuildSupervisedExample(RenderFormat.Conversation, TrainOnWhat.Customized));
        var stray = Assert.Throws<ArgumentException>(() => renderer.BuildSupervisedExample(RenderFormat.CustomizedConversation, TrainOnWhat.AllMessages));

        Assert.Contains("Trainable", missing.Message, StringComparison.Ordinal);
        Assert.Contains("Customized", stray.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RoleColonRenderer_ParseResponse_StopsAtNextUserHeader()
    {
        var renderer = new RoleColonRenderer(FakeTokenizer.Plain());

        var (message, ok) = renderer.ParseResponse(renderer.Tokenizer.Encode(" 42\n\nUser: more"));

        Assert.True(ok);
        Assert.Equal("42", message.Content);
    }

    [Fact]
    public void RendererFactory_CreatesByNameAndRecommends()
    {
        Assert.IsType<Qwen3Renderer>(RendererFactory.Create(RendererFactory.GetRecommendedRendererName("tinkerflow/tiny-qwen3"), FakeTokenizer.Qwen3()));
        Assert.Equal("llama3", RendererFactory.GetRecommendedRendererName("meta-llama/Llama-3.1-8B"));
        Assert.Equal("role_colon", RendererFactory.GetRecommendedRendererName("some/base-model"));
        Assert.Throws<ArgumentException>(() => RendererFactory.Create("nope", FakeTokenizer.Qwen3()));
    }
}
