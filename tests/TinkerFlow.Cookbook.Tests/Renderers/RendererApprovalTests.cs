using TinkerFlow.Cookbook.Renderers;

namespace TinkerFlow.Cookbook.Tests.Renderers;

public class RendererApprovalTests
{
    public static TheoryData<string, TrainOnWhat> RendererAndTrainOnWhat()
    {
        var data = new TheoryData<string, TrainOnWhat>();
        foreach (var name in RenderFormat.RendererNames)
        {
            foreach (var what in Enum.GetValues<TrainOnWhat>())
            {
                data.Add(name, what);
            }
        }

        return data;
    }

    public static TheoryData<string> Renderers() => [.. RenderFormat.RendererNames];

    [Theory]
    [MemberData(nameof(RendererAndTrainOnWhat))]
    public void Renderer_SupervisedExample_MatchesApproved(string rendererName, TrainOnWhat trainOnWhat)
    {
        var renderer = RenderFormat.Create(rendererName);
        var messages = trainOnWhat == TrainOnWhat.Customized ? RenderFormat.CustomizedConversation : RenderFormat.Conversation;

        var (input, weights) = renderer.BuildSupervisedExample(messages, trainOnWhat);

        Assert.Equal(input.Length, weights.Length);
        Approvals.Verify(RenderFormat.Dump(renderer, input, weights), $"{rendererName}.supervised.{trainOnWhat}");
    }

    [Theory]
    [MemberData(nameof(Renderers))]
    public void Renderer_GenerationPrompt_MatchesApproved(string rendererName)
    {
        var renderer = RenderFormat.Create(rendererName);

        var prompt = renderer.BuildGenerationPrompt(RenderFormat.Conversation.Take(4).ToList());
        var prefilled = renderer.BuildGenerationPrompt(RenderFormat.Conversation.Take(4).ToList(), prefill: "The answer is");

        var text = RenderFormat.Dump(renderer, prompt, null) + "with prefill:\n" + RenderFormat.Dump(renderer, prefilled, null)
            + "stop: " + renderer.GetStopSequences().ToString().Replace("\n", "\\n", StringComparison.Ordinal) + "\n";
        Approvals.Verify(text, $"{rendererName}.generation");
    }
}
