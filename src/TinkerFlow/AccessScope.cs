namespace TinkerFlow;

/// <summary>Which training runs and checkpoints a REST listing covers (wire <c>access_scope</c>).</summary>
public enum AccessScope
{
    /// <summary>Only the caller's own (<c>owned</c>).</summary>
    Owned,

    /// <summary>The caller's own plus published ones of others (<c>accessible</c>).</summary>
    Accessible,
}
