namespace TinkerFlow.Recipes.Tests;

[Collection("Recipes")]
public sealed class DistillTests
{
    [Fact]
    [Trait("Category", "Learning")]
    public async Task Distill_TeacherKlFalls()
    {
        var log = RecipeRunner.NewLogPath("distill");

        await RecipeRunner.RunAsync("Distill", "--log-path", log, "--max-steps", "20", "--teacher-steps", "40", "--student-sft-steps", "6");
        var rows = RecipeRunner.ReadMetrics(log);

        var kl = RecipeRunner.Series(rows, "teacher_kl");
        Assert.Equal(20, kl.Count);
        double first = kl.Take(4).Average(), last = kl.TakeLast(4).Average();
        Assert.True(last < 0.75 * first, $"teacher_kl (first 4 mean {first:F3}, last 4 mean {last:F3}): {string.Join(" → ", kl.Select(v => v.ToString("F3")))}");
    }

    [Fact]
    public async Task Distill_TwoStepSmokeThenResumeReusesTeacher()
    {
        var log = RecipeRunner.NewLogPath("distill-smoke");
        string[] common = ["--log-path", log, "--teacher-steps", "2", "--student-sft-steps", "1", "--groups-per-batch", "2", "--group-size", "2", "--save-every", "1"];

        await RecipeRunner.RunAsync("Distill", [.. common, "--max-steps", "2"]);
        var teacher = File.ReadAllText(Path.Combine(log, "teacher.json"));
        await RecipeRunner.RunAsync("Distill", [.. common, "--max-steps", "3"]);
        var rows = RecipeRunner.ReadMetrics(log);

        Assert.Equal([0.0, 1.0, 2.0], rows.Select(r => r["step"]));
        Assert.All(rows, r => Assert.True(double.IsFinite(r["teacher_kl"])));
        Assert.Equal(teacher, File.ReadAllText(Path.Combine(log, "teacher.json")));
        Assert.Contains("sampler_weights/teacher", teacher, StringComparison.Ordinal);
    }
}
