namespace TinkerFlow.Server.Protobuf;

/// <summary>The <c>tinker_public.DType</c> enum values (wire-protocol §8).</summary>
internal static class ProtoDType
{
    public const int Unspecified = 0;
    public const int Float32 = 1;
    public const int Int64 = 2;
    public const int Int32 = 3;
    public const int BFloat16 = 4;

    public static string Name(int value) => value switch
    {
        Unspecified => "DTYPE_UNSPECIFIED",
        Float32 => "DTYPE_FLOAT32",
        Int64 => "DTYPE_INT64",
        Int32 => "DTYPE_INT32",
        BFloat16 => "DTYPE_BFLOAT16",
        _ => $"{value} (unknown)",
    };
}
