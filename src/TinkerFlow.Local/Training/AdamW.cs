using TinkerFlow.Local.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Training;

/// <summary>
/// AdamW with decoupled weight decay, global-norm gradient clipping and bias correction, over a fixed list of named
/// parameters (typically the LoRA parameters). Hyperparameters are passed per step, so schedules can change them.
/// </summary>
/// <remarks>
/// <para>One step, with t the step count after increment and g the (clipped) gradient, follows PyTorch's AdamW:
/// p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
/// p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps).
/// Clipping: when grad_clip_norm &gt; 0, g ← g·min(1, grad_clip_norm / (‖g‖ + 1e-6)), ‖g‖ the global L2 norm over all
/// gradients (as <c>torch.nn.utils.clip_grad_norm_</c>).</para>
/// <para>A parameter whose gradient is null (never reached by backward) is skipped: no decay, no moment update.
/// The step count is shared by all parameters.</para>
/// <para>Moments live outside any dispose scope and are released by <see cref="Dispose"/>. A step runs on one
/// thread under <c>torch.no_grad()</c> in its own dispose scope, and zeroes the gradients when it finishes.</para>
/// </remarks>
internal sealed class AdamW : IDisposable
{
    /// <summary>Key of the step count in exported state: a scalar int64 tensor.</summary>
    public const string StepKey = "step";

    /// <summary>Suffix of a parameter's first moment in exported state: <c>&lt;param&gt;.exp_avg</c>.</summary>
    public const string ExpAvgSuffix = ".exp_avg";

    /// <summary>Suffix of a parameter's second moment in exported state: <c>&lt;param&gt;.exp_avg_sq</c>.</summary>
    public const string ExpAvgSqSuffix = ".exp_avg_sq";

    private readonly List<(string Name, Tensor Parameter)> _parameters;
    private readonly Dictionary<string, Tensor> _parametersByName;
    private readonly Dictionary<string, (Tensor ExpAvg, Tensor ExpAvgSq)> _state = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Creates the optimizer over named parameters; moments are allocated lazily on the first step.</summary>
    /// <param name="parameters">Distinct names with their parameter tensors (float, updated in place).</param>
    public AdamW(IEnumerable<(string Name, Tensor Parameter)> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToList();
        _parametersByName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, parameter) in _parameters)
        {
            ArgumentNullException.ThrowIfNull(parameter);
            if (!_parametersByName.TryAdd(name, parameter))
            {
                throw new ArgumentException($"Parameter name '{name}' appears twice.", nameof(parameters));
            }
        }
    }

    /// <summary>Number of steps applied so far (restored by <see cref="ImportState"/>).</summary>
    public long StepCount { get; private set; }

    /// <summary>The optimized parameter names, in construction order.</summary>
    public IReadOnlyList<string> ParameterNames => _parameters.Select(p => p.Name).ToArray();

    /// <summary>Creates an optimizer over a module's parameters that require grad, keyed by their state-dict names.</summary>
    /// <param name="module">The model (for LoRA, only adapter parameters require grad).</param>
    /// <returns>The optimizer.</returns>
    public static AdamW ForTrainableParameters(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return new AdamW(module.named_parameters()
            .Where(p => p.parameter.requires_grad)
            .Select(p => (p.name, (Tensor)p.parameter)));
    }

    /// <summary>
    /// Applies one AdamW step with the accumulated gradients, then zeroes them. Nothing is changed if the
    /// hyperparameters are invalid or any gradient holds NaN or Inf.
    /// </summary>
    /// <param name="hyperparameters">This step's hyperparameters.</param>
    /// <returns>
    /// Metrics: <c>grad_norm:mean</c> (global gradient norm before clipping), <c>learning_rate:mean</c>,
    /// <c>param_norm:mean</c> (global norm after the step), <c>update_norm:mean</c> (global norm of the change).
    /// </returns>
    /// <exception cref="TinkerUserInputException">
    /// Invalid hyperparameters, or a non-finite gradient (then the gradients are discarded so training can go on).
    /// </exception>
    public IReadOnlyDictionary<string, double> Step(AdamWHyperparameters hyperparameters)
    {
        ArgumentNullException.ThrowIfNull(hyperparameters);
        ObjectDisposedException.ThrowIf(_disposed, this);
        hyperparameters.Validate();

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        // Validate every gradient before touching any parameter or moment.
        var grads = new Tensor?[_parameters.Count];
        var nonFinite = new List<string>();
        for (int i = 0; i < _parameters.Count; i++)
        {
            var grad = _parameters[i].Parameter.grad;
            grads[i] = grad;
            if (grad is not null && !isfinite(grad).all().item<bool>())
            {
                nonFinite.Add(_parameters[i].Name);
            }
        }

        if (nonFinite.Count > 0)
        {
            ZeroGradCore();
            string names = string.Join(", ", nonFinite.Take(5).Select(n => $"'{n}'")) + (nonFinite.Count > 5 ? ", …" : "");
            throw new TinkerUserInputException(
                $"The gradients of {nonFinite.Count} parameter(s) contain NaN or Inf ({names}). The optimizer step was not applied: " +
                "parameters and optimizer state are unchanged, and the accumulated gradients were discarded so training can continue. " +
                "Lower the learning rate, or check the loss inputs (for example very large advantages or log-prob gaps).");
        }

        var present = Enumerable.Range(0, _parameters.Count).Where(i => grads[i] is not null).ToArray();
        double gradNorm = present.Length == 0
            ? 0.0
            : stack(present.Select(i => grads[i]!.to(ScalarType.Float64).norm())).norm().item<double>();
        double clip = hyperparameters.GradClipNorm > 0
            ? Math.Min(1.0, hyperparameters.GradClipNorm / (gradNorm + 1e-6))
            : 1.0;

        double lr = hyperparameters.LearningRate;
        double beta1 = hyperparameters.Beta1;
        double beta2 = hyperparameters.Beta2;
        long t = StepCount + 1;
        double stepSize = lr / (1 - Math.Pow(beta1, t));
        double secondCorrectionSqrt = Math.Sqrt(1 - Math.Pow(beta2, t));
        double decay = 1 - lr * hyperparameters.WeightDecay;

        // Kept-alive Scalars (Engine/Scalars.cs): a temporary one can be freed by a GC while libtorch reads it.
        using Scalar clipS = clip.ToScalar(), decayS = decay.ToScalar(), beta1S = beta1.ToScalar(), beta2S = beta2.ToScalar();
        using Scalar oneMinusBeta1 = (1 - beta1).ToScalar(), oneMinusBeta2 = (1 - beta2).ToScalar();
        using Scalar secondS = secondCorrectionSqrt.ToScalar(), epsS = hyperparameters.Eps.ToScalar(), negStepS = (-stepSize).ToScalar();
        var updateSquares = new List<Tensor>(present.Length);
        foreach (int i in present)
        {
            var (name, parameter) = _parameters[i];
            var grad = clip < 1.0 ? grads[i]!.mul(clipS) : grads[i]!;
            var (expAvg, expAvgSq) = GetOrCreateState(name, parameter);
            var before = parameter.clone();

            if (hyperparameters.WeightDecay != 0)
            {
                parameter.mul_(decayS);
            }

            expAvg.mul_(beta1S).add_(grad, oneMinusBeta1);
            expAvgSq.mul_(beta2S).addcmul_(grad, grad, oneMinusBeta2);
            var denominator = expAvgSq.sqrt().div_(secondS).add_(epsS, Scalars.One);
            parameter.addcdiv_(expAvg, denominator, negStepS);

            updateSquares.Add((parameter - before).to(ScalarType.Float64).pow(Scalars.Two).sum());
        }

        StepCount = t;
        double updateNorm = updateSquares.Count == 0 ? 0.0 : Math.Sqrt(stack(updateSquares).sum().item<double>());
        double paramNorm = _parameters.Count == 0
            ? 0.0
            : Math.Sqrt(stack(_parameters.Select(p => p.Parameter.detach().to(ScalarType.Float64).pow(Scalars.Two).sum())).sum().item<double>());
        ZeroGradCore();

        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["grad_norm:mean"] = gradNorm,
            ["learning_rate:mean"] = lr,
            ["param_norm:mean"] = paramNorm,
            ["update_norm:mean"] = updateNorm,
        };
    }

    /// <summary>Zeroes every parameter's gradient (in place; null gradients stay null).</summary>
    public void ZeroGrad()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        ZeroGradCore();
    }

    /// <summary>
    /// Copies the optimizer state for a checkpoint: <c>step</c> (scalar int64) and, for every parameter that has been
    /// stepped, <c>&lt;param&gt;.exp_avg</c> and <c>&lt;param&gt;.exp_avg_sq</c> (parameter shape and dtype).
    /// </summary>
    /// <returns>Fresh copies owned by the caller (registered in the caller's dispose scope, if any).</returns>
    public Dictionary<string, Tensor> ExportState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = no_grad();
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [StepKey] = tensor(StepCount, ScalarType.Int64) };
        foreach (var (name, _) in _parameters)
        {
            if (_state.TryGetValue(name, out var moments))
            {
                state[name + ExpAvgSuffix] = moments.ExpAvg.clone();
                state[name + ExpAvgSqSuffix] = moments.ExpAvgSq.clone();
            }
        }

        return state;
    }

    /// <summary>
    /// Replaces the optimizer state with one written by <see cref="ExportState"/>; the next step is then
    /// bit-identical to the one the exporting optimizer would have taken. Everything is checked before anything
    /// is replaced; the given tensors are copied, not kept.
    /// </summary>
    /// <param name="state">The state: <c>step</c> plus moment pairs for known parameters.</param>
    /// <exception cref="TinkerUserInputException">Missing step, unknown key, lone moment, or wrong shape/dtype.</exception>
    public void ImportState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ObjectDisposedException.ThrowIf(_disposed, this);

        if (!state.TryGetValue(StepKey, out var stepTensor) || stepTensor.numel() != 1
            || stepTensor.dtype is not (ScalarType.Int64 or ScalarType.Int32))
        {
            throw new TinkerUserInputException(
                $"Optimizer state needs '{StepKey}' as a scalar int64 tensor; the checkpoint does not match this optimizer.");
        }

        long step = stepTensor.to(ScalarType.Int64).item<long>();
        if (step < 0)
        {
            throw new TinkerUserInputException($"Optimizer state '{StepKey}' is negative ({step}).");
        }

        var pairs = new Dictionary<string, (Tensor? ExpAvg, Tensor? ExpAvgSq)>(StringComparer.Ordinal);
        foreach (var (key, value) in state)
        {
            if (key == StepKey)
            {
                continue;
            }

            bool isSq = key.EndsWith(ExpAvgSqSuffix, StringComparison.Ordinal);
            bool isAvg = !isSq && key.EndsWith(ExpAvgSuffix, StringComparison.Ordinal);
            string name = isSq ? key[..^ExpAvgSqSuffix.Length] : isAvg ? key[..^ExpAvgSuffix.Length] : key;
            if ((!isSq && !isAvg) || !_parametersByName.TryGetValue(name, out var parameter))
            {
                throw new TinkerUserInputException(
                    $"Optimizer state key '{key}' does not name a moment of an optimized parameter " +
                    $"(expected '{StepKey}' or '<param>{ExpAvgSuffix}' / '<param>{ExpAvgSqSuffix}' for one of {_parameters.Count} parameters).");
            }

            if (!value.shape.SequenceEqual(parameter.shape) || !value.is_floating_point())
            {
                throw new TinkerUserInputException(
                    $"Optimizer state '{key}' has shape [{string.Join(", ", value.shape)}] and dtype {value.dtype}, " +
                    $"but parameter '{name}' has shape [{string.Join(", ", parameter.shape)}]; the checkpoint was written for a different model or LoRA config.");
            }

            pairs.TryGetValue(name, out var pair);
            pairs[name] = isSq ? (pair.ExpAvg, value) : (value, pair.ExpAvgSq);
        }

        foreach (var (name, pair) in pairs)
        {
            if (pair.ExpAvg is null || pair.ExpAvgSq is null)
            {
                throw new TinkerUserInputException(
                    $"Optimizer state for '{name}' has only one of '{ExpAvgSuffix}' and '{ExpAvgSqSuffix}'.");
            }
        }

        using var noGrad = no_grad();
        DisposeState();
        foreach (var (name, pair) in pairs)
        {
            var parameter = _parametersByName[name];
            _state[name] = (Copy(pair.ExpAvg!, parameter), Copy(pair.ExpAvgSq!, parameter));
        }

        StepCount = step;

        static Tensor Copy(Tensor source, Tensor parameter) =>
            source.to(parameter.dtype, parameter.device).clone().DetachFromDisposeScope();
    }

    /// <summary>Releases the moment tensors (not the parameters).</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            DisposeState();
            _disposed = true;
        }
    }

    private (Tensor ExpAvg, Tensor ExpAvgSq) GetOrCreateState(string name, Tensor parameter)
    {
        if (!_state.TryGetValue(name, out var moments))
        {
            moments = (zeros_like(parameter).DetachFromDisposeScope(), zeros_like(parameter).DetachFromDisposeScope());
            _state[name] = moments;
        }

        return moments;
    }

    private void ZeroGradCore()
    {
        foreach (var (_, parameter) in _parameters)
        {
            parameter.grad?.zero_();
        }
    }

    private void DisposeState()
    {
        foreach (var (expAvg, expAvgSq) in _state.Values)
        {
            expAvg.Dispose();
            expAvgSq.Dispose();
        }

        _state.Clear();
    }
}
