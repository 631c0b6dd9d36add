using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Weights;

/// <summary>Writes tensors to a <c>.safetensors</c> file (keys sorted, header padded to 8 bytes).</summary>
internal static class SafeTensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> in their own dtypes (convert first if a different one is wanted).
    /// Tensors on other devices or non-contiguous tensors are copied to contiguous CPU memory first.
    /// The file is written to a temporary name and moved into place, so a reader never sees half a file.
    /// </summary>
    /// <param name="path">Destination file; its directory must exist.</param>
    /// <param name="tensors">Name → tensor.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> string map (e.g. <c>{"format": "pt"}</c>).</param>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);

        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var header = new MemoryStream();
        long offset = 0;
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            foreach (var (name, tensor) in ordered)
            {
                long bytes = tensor.NumberOfElements * tensor.ElementSize;
                json.WriteStartObject(name);
                json.WriteString("dtype", SafeTensorsDtype.NameOf(tensor.dtype));
                json.WriteStartArray("shape");
                foreach (long d in tensor.shape)
                {
                    json.WriteNumberValue(d);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }

        // Pad the header with spaces so the data section starts on an 8-byte boundary.
        int padding = (int)((8 - header.Length % 8) % 8);
        for (int i = 0; i < padding; i++)
        {
            header.WriteByte((byte)' ');
        }

        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            file.Write(BitConverter.GetBytes((ulong)header.Length));
            header.Position = 0;
            header.CopyTo(file);
            foreach (var (_, tensor) in ordered)
            {
                if (tensor.NumberOfElements == 0)
                {
                    continue;
                }
                using var scope = torch.NewDisposeScope();
                var cpu = tensor.device_type == DeviceType.CPU && tensor.is_contiguous() ? tensor : tensor.cpu().contiguous();
                file.Write(cpu.bytes);
            }
        }
        File.Move(temporary, path, overwrite: true);
    }
}
