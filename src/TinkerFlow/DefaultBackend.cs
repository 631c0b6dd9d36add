namespace TinkerFlow;

/// <summary>
/// The backend <c>new ServiceClient()</c> uses when neither <see cref="TinkerClientOptions.Backend"/> nor
/// <see cref="TinkerClientOptions.BaseUrl"/> (<c>TINKER_BASE_URL</c>) is set.
/// </summary>
/// <remarks>
/// <para>The core SDK does not depend on an engine. TinkerFlow.Local registers its embedded engine here with
/// <c>LocalBackend.RegisterAsDefault()</c>; projects that reference the TinkerFlow.Local package call it without
/// writing any code, through a module initializer that the package adds to C# projects at build time
/// (opt out with the MSBuild property <c>TinkerFlowRegisterEmbeddedEngine=false</c>).</para>
/// <para>The factory runs once per <see cref="ServiceClient"/> built without a backend; the client does not dispose
/// what it returns, so return a shared instance.</para>
/// </remarks>
public static class DefaultBackend
{
    private static Func<TinkerBackend>? s_factory;

    /// <summary>Whether a default backend has been registered.</summary>
    public static bool IsRegistered => Volatile.Read(ref s_factory) is not null;

    /// <summary>Sets the factory of the default backend, replacing any earlier registration.</summary>
    /// <param name="factory">Returns the backend; called by each <see cref="ServiceClient"/> that needs it.</param>
    public static void Register(Func<TinkerBackend> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Volatile.Write(ref s_factory, factory);
    }

    /// <summary>The registered backend; throws with directions when none is registered.</summary>
    internal static TinkerBackend Resolve()
    {
        var factory = Volatile.Read(ref s_factory) ?? throw new InvalidOperationException(
            "No Tinker backend is configured. Reference the TinkerFlow.Local package to train in-process with the embedded engine " +
            "(or call TinkerFlow.Local.LocalBackend.RegisterAsDefault() when its automatic registration is turned off), " +
            "or set TinkerClientOptions.BaseUrl (or the TINKER_BASE_URL environment variable) to use a Tinker service.");
        return factory() ?? throw new InvalidOperationException("The registered default backend factory returned null.");
    }
}
