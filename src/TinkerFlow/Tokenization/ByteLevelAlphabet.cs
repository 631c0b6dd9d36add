namespace TinkerFlow.Tokenization;

/// <summary>
/// The GPT-2 byte-to-character table that byte-level BPE vocabularies are written in: printable Latin-1 bytes
/// stand for themselves and the other 68 bytes map, in order, to U+0100 onwards (so a space is <c>Ġ</c>, U+0120).
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] s_byteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> s_charToByte = BuildCharToByte(s_byteToChar);

    /// <summary>The character that stands for <paramref name="value"/> in a byte-level vocabulary.</summary>
    public static char ToChar(byte value) => s_byteToChar[value];

    /// <summary>Tries to map a vocabulary character back to the byte it stands for.</summary>
    public static bool TryGetByte(char c, out byte value) => s_charToByte.TryGetValue(c, out value);

    /// <summary>Writes the bytes as their byte-level characters (the form vocabulary entries take).</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                span[i] = s_byteToChar[source[i]];
            }
        });
    }

    /// <summary>
    /// Maps a vocabulary entry back to bytes. A character outside the alphabet (rare: a hand-added entry) is
    /// taken as its own UTF-8 encoding, so decoding never fails.
    /// </summary>
    public static byte[] Decode(string token)
    {
        var bytes = new List<byte>(token.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < token.Length; i++)
        {
            if (s_charToByte.TryGetValue(token[i], out byte b))
            {
                bytes.Add(b);
                continue;
            }

            int length = char.IsSurrogatePair(token, i) ? 2 : 1;
            int written = System.Text.Encoding.UTF8.GetBytes(token.AsSpan(i, length), utf8);
            for (int k = 0; k < written; k++)
            {
                bytes.Add(utf8[k]);
            }

            i += length - 1;
        }

        return bytes.ToArray();
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }

        return table;
    }

    private static Dictionary<char, byte> BuildCharToByte(char[] byteToChar)
    {
        var map = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++)
        {
            map[byteToChar[b]] = (byte)b;
        }

        return map;
    }
}
