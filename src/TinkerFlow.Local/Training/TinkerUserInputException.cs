namespace TinkerFlow.Local.Training;

/// <summary>
/// Thrown when a request's loss function name, <c>loss_fn_config</c>, <c>loss_fn_inputs</c> or optimizer
/// hyperparameters are invalid, or when the accumulated gradients cannot be applied. The local backend maps it to
/// the <c>user</c> error category: retrying the same request cannot succeed, the message says what to change.
/// </summary>
internal sealed class TinkerUserInputException : Exception
{
    /// <summary>Creates the exception with a message that names the offending input and the accepted values.</summary>
    /// <param name="message">What was wrong and what would be accepted.</param>
    public TinkerUserInputException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that revealed the problem.</summary>
    /// <param name="message">What was wrong and what would be accepted.</param>
    /// <param name="innerException">The underlying failure.</param>
    public TinkerUserInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
