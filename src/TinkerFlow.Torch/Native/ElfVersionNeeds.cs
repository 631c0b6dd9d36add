using System.Buffers.Binary;
using System.Text;

namespace TinkerFlow.Torch.Native;

/// <summary>
/// Edits the version needs (<c>SHT_GNU_verneed</c>, "Vernaux" entries) of a little-endian ELF64 shared library in
/// memory: marking a need <c>VER_FLG_WEAK</c> lets the dynamic loader accept the library when the version is missing.
/// </summary>
internal static class ElfVersionNeeds
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 2;

    /// <summary>Marks every need on <paramref name="versionName"/> weak.</summary>
    /// <param name="elf">The library's bytes, edited in place.</param>
    /// <param name="versionName">A version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
    /// <returns>How many needs were marked now, and how many were weak already.</returns>
    /// <exception cref="InvalidDataException">When <paramref name="elf"/> is not a well-formed little-endian ELF64 file.</exception>
    public static (int Marked, int AlreadyWeak) MarkWeak(byte[] elf, string versionName)
    {
        ArgumentNullException.ThrowIfNull(elf);
        ArgumentException.ThrowIfNullOrEmpty(versionName);
        // "\x7fELF", EI_CLASS = 2 (64-bit), EI_DATA = 1 (little-endian).
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("Not a little-endian ELF64 file.");
        }

        var marked = 0;
        var alreadyWeak = 0;
        var shoff = Offset(elf, U64(elf, 0x28));
        var shentsize = (int)U16(elf, 0x3A);
        var shnum = (int)U16(elf, 0x3C);
        for (var s = 0; s < shnum; s++)
        {
            var sh = Offset(elf, shoff + ((long)s * shentsize), 64);
            if (U32(elf, sh + 4) != ShtGnuVerneed)
            {
                continue;
            }

            var need = Offset(elf, U64(elf, sh + 24));
            var link = (long)U32(elf, sh + 40);
            var needCount = U32(elf, sh + 44);
            var strtab = Offset(elf, U64(elf, Offset(elf, shoff + (link * shentsize), 64) + 24));
            for (var i = 0; i < needCount; i++)
            {
                var auxCount = U16(elf, need + 2);
                var aux = Offset(elf, need + U32(elf, need + 8), 16);
                for (var j = 0; j < auxCount; j++)
                {
                    if (ReadString(elf, Offset(elf, strtab + U32(elf, aux + 8))) == versionName)
                    {
                        var flags = U16(elf, aux + 4);
                        if ((flags & VerFlgWeak) != 0)
                        {
                            alreadyWeak++;
                        }
                        else
                        {
                            BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(checked((int)aux + 4)), (ushort)(flags | VerFlgWeak));
                            marked++;
                        }
                    }

                    var nextAux = U32(elf, aux + 12);
                    if (nextAux == 0)
                    {
                        break;
                    }

                    aux = Offset(elf, aux + nextAux, 16);
                }

                var nextNeed = U32(elf, need + 12);
                if (nextNeed == 0)
                {
                    break;
                }

                need = Offset(elf, need + nextNeed, 16);
            }
        }

        return (marked, alreadyWeak);
    }

    private static long Offset(byte[] elf, ulong value, int size = 1) => Offset(elf, value > long.MaxValue ? -1 : (long)value, size);

    private static long Offset(byte[] elf, long value, int size = 1) =>
        value >= 0 && value + size <= elf.Length ? value : throw new InvalidDataException($"ELF offset {value} is outside the file ({elf.Length} bytes).");

    private static ushort U16(byte[] elf, long at) => BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan((int)Offset(elf, at, 2)));

    private static uint U32(byte[] elf, long at) => BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)Offset(elf, at, 4)));

    private static ulong U64(byte[] elf, long at) => BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)Offset(elf, at, 8)));

    private static string ReadString(byte[] elf, long at)
    {
        var end = Array.IndexOf(elf, (byte)0, (int)at);
        return end < 0 ? throw new InvalidDataException($"Unterminated ELF string at {at}.") : Encoding.ASCII.GetString(elf, (int)at, end - (int)at);
    }
}
