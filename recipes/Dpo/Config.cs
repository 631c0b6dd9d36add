namespace TinkerFlow.Recipes.Dpo;

/// <summary>Dpo settings; every default is overridable with --key value or --key=value (see RecipeArgs).</summary>
internal sealed record Config
{
    public string LogPath { get; init; } = "runs/dpo";                          // metrics.jsonl, checkpoints.jsonl, reference_logprobs.jsonl
    public string? BaseUrl { get; init; }                                       // null = embedded engine
    public string Model { get; init; } = "tinkerflow/tiny-qwen3";               // policy and reference base model
    public string DataPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "data", "tiny_prefs.jsonl");
    public int MaxSteps { get; init; } = 60;                                    // optimizer steps
    public int BatchSize { get; init; } = 32;                                   // preference pairs per step (2 datums each)
    public double LearningRate { get; init; } = 2e-3;                           // peak LR, linear decay to 0
    public double Beta { get; init; } = 0.1;                                    // DPO temperature β
    public int LoraRank { get; init; } = 32;                                    // LoRA rank
    public int TestSize { get; init; } = 128;                                   // held-out pairs, never trained on
    public int EvalEvery { get; init; } = 10;                                   // steps between test/* evaluations (and after the last)
    public int SaveEvery { get; init; } = 20;                                   // steps between checkpoints
    public int Seed { get; init; } = 0;                                         // split, data order and LoRA init
    public bool Describe { get; init; }                                         // print the training graph and exit
}
