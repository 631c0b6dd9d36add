using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Training;

/// <summary>
/// Hand-written double-precision reference for the loss tests: a softmax written out with loops, and the gradient
/// of a per-token loss with respect to the logits, d loss / d z[i, v] = c_i · (1[v = t_i] − p[i, v]), where
/// c_i = d loss / d lp_i is derived by hand for each loss in the tests.
/// </summary>
internal static class LossReference
{
    /// <summary>Logits of the tiny example, [N = 3, V = 4].</summary>
    public static readonly float[,] Logits =
    {
        { 0.5f, -1.0f, 2.0f, 0.1f },
        { 1.5f, 0.3f, -0.7f, 0.0f },
        { -0.2f, 0.4f, 0.9f, -1.3f },
    };

    /// <summary>Target tokens of the tiny example.</summary>
    public static readonly long[] Targets = [2, 0, 3];

    public const int N = 3;
    public const int V = 4;

    public static Tensor LogitsTensor()
    {
        var flat = new float[N * V];
        for (int i = 0; i < N; i++)
        {
            for (int v = 0; v < V; v++)
            {
                flat[i * V + v] = Logits[i, v];
            }
        }

        return torch.tensor(flat).reshape(N, V).requires_grad_(true);
    }

    public static double[,] Softmax()
    {
        var p = new double[N, V];
        for (int i = 0; i < N; i++)
        {
            double max = double.NegativeInfinity;
            for (int v = 0; v < V; v++)
            {
                max = Math.Max(max, Logits[i, v]);
            }

            double sum = 0;
            for (int v = 0; v < V; v++)
            {
                sum += Math.Exp(Logits[i, v] - max);
            }

            for (int v = 0; v < V; v++)
            {
                p[i, v] = Math.Exp(Logits[i, v] - max) / sum;
            }
        }

        return p;
    }

    /// <summary>log p(t_i) for each row.</summary>
    public static double[] TargetLogprobs(long[] targets)
    {
        var p = Softmax();
        return Enumerable.Range(0, N).Select(i => Math.Log(p[i, targets[i]])).ToArray();
    }

    /// <summary>Expected logits gradient for per-token coefficients c_i = d loss / d lp_i.</summary>
    public static double[,] LogitsGrad(double[] coefficients, long[] targets)
    {
        var p = Softmax();
        var g = new double[N, V];
        for (int i = 0; i < N; i++)
        {
            for (int v = 0; v < V; v++)
            {
                g[i, v] = coefficients[i] * ((v == targets[i] ? 1.0 : 0.0) - p[i, v]);
            }
        }

        return g;
    }

    public static void AssertClose(double expected, double actual, double tolerance, string what)
    {
        Assert.True(
            Math.Abs(expected - actual) <= tolerance,
            $"{what}: expected {expected:R}, got {actual:R} (diff {Math.Abs(expected - actual):E2}, tolerance {tolerance:E1}).");
    }

    public static void AssertClose(double[] expected, Tensor actual, double tolerance, string what)
    {
        var values = actual.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            AssertClose(expected[i], values[i], tolerance, $"{what}[{i}]");
        }
    }

    public static void AssertClose(double[,] expected, Tensor actual, double tolerance, string what)
    {
        var values = actual.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        int cols = expected.GetLength(1);
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < expected.GetLength(0); i++)
        {
            for (int j = 0; j < cols; j++)
            {
                AssertClose(expected[i, j], values[i * cols + j], tolerance, $"{what}[{i},{j}]");
            }
        }
    }

    public static Tensor Floats(params double[] values) => torch.tensor(values.Select(v => (float)v).ToArray());

    public static Tensor Longs(params long[] values) => torch.tensor(values);
}
