using TorchSharp;

namespace TinkerFlow.Local.Weights;

/// <summary>Maps safetensors dtype names (<c>F32</c>, <c>BF16</c>, ...) to TorchSharp scalar types and back.</summary>
internal static class SafeTensorsDtype
{
    private static readonly (string Name, torch.ScalarType Type, int Size)[] Table =
    [
        ("F64", torch.ScalarType.Float64, 8),
        ("F32", torch.ScalarType.Float32, 4),
        ("F16", torch.ScalarType.Float16, 2),
        ("BF16", torch.ScalarType.BFloat16, 2),
        ("I64", torch.ScalarType.Int64, 8),
        ("I32", torch.ScalarType.Int32, 4),
        ("I16", torch.ScalarType.Int16, 2),
        ("I8", torch.ScalarType.Int8, 1),
        ("U8", torch.ScalarType.Byte, 1),
        ("BOOL", torch.ScalarType.Bool, 1),
    ];

    /// <summary>The scalar type and element size for a safetensors dtype name, or false if it is not supported.</summary>
    public static bool TryParse(string name, out torch.ScalarType type, out int elementSize)
    {
        foreach (var row in Table)
        {
            if (row.Name == name)
            {
                type = row.Type;
                elementSize = row.Size;
                return true;
            }
        }
        type = default;
        elementSize = 0;
        return false;
    }

    /// <summary>The safetensors dtype name for a scalar type.</summary>
    /// <exception cref="NotSupportedException">The scalar type has no safetensors name here (complex types, for example).</exception>
    public static string NameOf(torch.ScalarType type)
    {
        foreach (var row in Table)
        {
            if (row.Type == type)
            {
                return row.Name;
            }
        }
        throw new NotSupportedException($"safetensors: dtype {type} is not supported; convert the tensor to float32, float16, bfloat16, int64 or int32 first.");
    }

    /// <summary>Every dtype name this reader accepts, for error messages.</summary>
    public static string SupportedNames => string.Join(", ", Table.Select(r => r.Name));
}
