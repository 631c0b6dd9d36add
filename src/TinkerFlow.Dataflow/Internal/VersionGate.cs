namespace TinkerFlow.Dataflow.Internal;

/// <summary>The latest sampler and its version; admission waits here until the version is high enough.</summary>
internal sealed class VersionGate
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SamplingClient _sampler;
    private int _version;

    public VersionGate(SamplingClient initial, int initialVersion)
    {
        _sampler = initial;
        _version = initialVersion;
    }

    public (SamplingClient Sampler, int Version) Current
    {
        get
        {
            lock (_gate)
            {
                return (_sampler, _version);
            }
        }
    }

    public void Publish(SamplingClient sampler, int version)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _sampler = sampler;
            _version = version;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    public async Task WaitForVersionAsync(int minimum, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_version >= minimum)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
