namespace TinkerFlow.Recipes.Tests;

/// <summary>Recipes train with TorchSharp (process-global threads); they run one at a time.</summary>
[CollectionDefinition("Recipes", DisableParallelization = true)]
public sealed class RecipesCollection
{
}
