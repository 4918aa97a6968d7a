using System.Buffers.Binary;
using System.Text;

namespace Aigc.MLNet.Trainers.Native;

/// <summary>
/// Reads and rewrites the symbol-version requirements (<c>.gnu.version_r</c>, SHT_GNU_verneed) of a little-endian
/// ELF64 shared library held in memory. Rewriting changes only a Vernaux entry's name offset and hash, so nothing in
/// the file moves.
/// </summary>
/// <remarks>
/// Layout (System V gABI + GNU extension): the section is a chain of Verneed records
/// { u16 vn_version, u16 vn_cnt, u32 vn_file, u32 vn_aux, u32 vn_next }, each followed (at vn_aux) by vn_cnt Vernaux
/// records { u32 vna_hash, u16 vna_flags, u16 vna_other, u32 vna_name, u32 vna_next }; names are offsets into the
/// string table named by the section's sh_link. vna_hash is the classic ELF hash of the name.
/// </remarks>
internal static class ElfVersionNeeds
{
    private const uint ShtGnuVerneed = 0x6ffffffe;

    /// <summary>One required version: the library it is needed from and the version name.</summary>
    internal readonly record struct Need(string File, string Version);

    /// <summary>Every (library, version) pair the ELF image requires.</summary>
    public static IReadOnlyList<Need> Read(ReadOnlySpan<byte> elf)
    {
        var needs = new List<Need>();
        Walk(elf, (file, version, _, _) => needs.Add(new Need(file, version)));
        return needs;
    }

    /// <summary>
    /// Rewrites the requirement named <paramref name="version"/> to name the shortest other version required from the
    /// same library that shares its prefix up to the last dot (GLIBCXX_3.4.32 → GLIBCXX_3.4). Returns that name, or
    /// null when <paramref name="version"/> is not required.
    /// </summary>
    public static string? Retarget(Span<byte> elf, string version)
    {
        int lastDot = version.LastIndexOf('.');
        string prefix = lastDot < 0 ? version : version[..lastDot];
        var targets = new List<(string File, int AuxOffset)>();
        var candidates = new Dictionary<string, (string Name, uint NameOffset)>();
        Walk(elf, (file, name, auxOffset, nameOffset) =>
        {
            if (name == version) targets.Add((file, auxOffset));
            else if (name.StartsWith(prefix, StringComparison.Ordinal)
                     && (!candidates.TryGetValue(file, out var best) || name.Length < best.Name.Length))
                candidates[file] = (name, nameOffset);
        });
        if (targets.Count == 0) return null;
        string? chosen = null;
        foreach (var (file, auxOffset) in targets)
        {
            if (!candidates.TryGetValue(file, out var replacement))
                throw new InvalidDataException($"No other version with the prefix '{prefix}' is required from {file}; cannot retarget {version}.");
            BinaryPrimitives.WriteUInt32LittleEndian(elf.Slice(auxOffset, 4), ElfHash(replacement.Name));
            BinaryPrimitives.WriteUInt32LittleEndian(elf.Slice(auxOffset + 8, 4), replacement.NameOffset);
            chosen = replacement.Name;
        }
        return chosen;
    }

    /// <summary>The System V ELF hash of a symbol or version name.</summary>
    public static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (byte c in Encoding.ASCII.GetBytes(name))
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000u;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }

    private delegate void NeedVisitor(string file, string version, int auxOffset, uint nameOffset);

    private static void Walk(ReadOnlySpan<byte> elf, NeedVisitor visit)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("Not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("Only little-endian ELF64 files are supported.");
        ulong shoff = U64(elf, 0x28);
        int shentsize = U16(elf, 0x3a), shnum = U16(elf, 0x3c);
        if (shentsize < 64 || shoff + (ulong)shnum * (ulong)shentsize > (ulong)elf.Length)
            throw new InvalidDataException("The ELF section headers lie outside the file.");
        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)shoff + i * shentsize);
            if (U32(elf, sh + 4) != ShtGnuVerneed) continue;
            int offset = checked((int)U64(elf, sh + 0x18));
            int size = checked((int)U64(elf, sh + 0x20));
            int link = (int)U32(elf, sh + 0x28);
            if (link >= shnum || offset + size > elf.Length)
                throw new InvalidDataException("The ELF .gnu.version_r section is malformed.");
            int strs = checked((int)shoff + link * shentsize);
            int strOffset = checked((int)U64(elf, strs + 0x18)), strSize = checked((int)U64(elf, strs + 0x20));
            if (strOffset + strSize > elf.Length) throw new InvalidDataException("The ELF string table lies outside the file.");
            var strings = elf.Slice(strOffset, strSize);

            int vn = offset;
            while (true)
            {
                int count = U16(elf, vn + 2);
                string file = CString(strings, U32(elf, vn + 4));
                int aux = vn + (int)U32(elf, vn + 8);
                for (int j = 0; j < count; j++)
                {
                    uint nameOffset = U32(elf, aux + 8);
                    visit(file, CString(strings, nameOffset), aux, nameOffset);
                    uint next = U32(elf, aux + 12);
                    if (next == 0) break;
                    aux += (int)next;
                }
                uint vnNext = U32(elf, vn + 12);
                if (vnNext == 0) break;
                vn += (int)vnNext;
                if (vn >= offset + size) throw new InvalidDataException("The ELF .gnu.version_r chain runs past its section.");
            }
        }
    }

    private static string CString(ReadOnlySpan<byte> strings, uint offset)
    {
        if (offset >= strings.Length) throw new InvalidDataException("An ELF string offset lies outside the string table.");
        var rest = strings[(int)offset..];
        int end = rest.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
    }

    private static ushort U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(at, 2));
    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.Slice(at, 4));
    private static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b.Slice(at, 8));
}
