namespace TinkerFlow.Recipes.Distill;

/// <summary>Distill settings; every default is overridable with --key value or --key=value (see RecipeArgs).</summary>
internal sealed record Config
{
    public string LogPath { get; init; } = "runs/distill";                     // metrics.jsonl, checkpoints.jsonl, teacher.json
    public string? BaseUrl { get; init; }                                      // null = embedded engine
    public string Model { get; init; } = "tinkerflow/tiny-qwen3";              // student base model
    public string DataPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "data", "tiny_chat.jsonl");
    public string? TeacherPath { get; init; }                                  // tinker://…/sampler_weights/…; null = SFT a teacher LoRA first
    public int TeacherSteps { get; init; } = 40;                               // SFT steps of the built-in teacher
    public int StudentSftSteps { get; init; } = 6;                             // off-policy SFT warm-up of a fresh student (0 = none)
    public int SftBatchSize { get; init; } = 32;                               // conversations per SFT step (teacher and warm-up)
    public double TeacherLearningRate { get; init; } = 2e-3;                   // SFT LR (teacher and warm-up), linear decay to 0
    public int MaxSteps { get; init; } = 40;                                   // student optimizer steps
    public int GroupsPerBatch { get; init; } = 8;                              // prompts per step
    public int GroupSize { get; init; } = 4;                                   // student samples per prompt
    public int MaxTokens { get; init; } = 16;                                  // sampled tokens per completion
    public double Temperature { get; init; } = 1.0;                            // student sampling temperature (1 keeps q = the policy)
    public double LearningRate { get; init; } = 2e-3;                          // student LR (constant, as in the cookbook's RL)
    public double KlPenaltyCoef { get; init; } = 1.0;                          // c in A_t = c·(d̄ − d_t), d_t = log q_student − log p_teacher
    public int LoraRank { get; init; } = 32;                                   // LoRA rank (student and teacher)
    public int SaveEvery { get; init; } = 20;                                  // steps between checkpoints
    public int Seed { get; init; } = 0;                                        // prompt order, sampling seeds, LoRA init
    public bool Describe { get; init; }                                        // print the training graph and exit
}
