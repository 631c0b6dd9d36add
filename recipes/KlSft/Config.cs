namespace TinkerFlow.Recipes.KlSft;

/// <summary>KlSft settings; every default is overridable with --key value or --key=value (see RecipeArgs).</summary>
internal sealed record Config
{
    public string LogPath { get; init; } = "runs/kl-sft";                      // metrics.jsonl, checkpoints.jsonl
    public string? BaseUrl { get; init; }                                       // null = embedded engine
    public string Model { get; init; } = "tinkerflow/tiny-qwen3";               // policy and frozen reference base model
    public string DataPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "data", "tiny_chat.jsonl");
    public double KlCoef { get; init; } = 0.1;                                  // λ: weight of the penalty (0 = plain SFT)
    public int MaxSteps { get; init; } = 40;                                    // optimizer steps
    public int BatchSize { get; init; } = 16;                                   // conversations per step
    public double LearningRate { get; init; } = 2e-3;                           // peak LR, linear decay to 0
    public int LoraRank { get; init; } = 32;                                    // LoRA rank
    public int TestSize { get; init; } = 32;                                    // held-out conversations, never trained on
    public int EvalEvery { get; init; } = 10;                                   // steps between test/* evaluations (from step 0, and after the last)
    public int SaveEvery { get; init; } = 20;                                   // steps between checkpoints
    public int Seed { get; init; } = 0;                                         // train/test split and LoRA init (epoch e's order: a shuffle seeded with e)
    public bool Describe { get; init; }                                         // print the training graph and exit
}
