using Aigc.MLNet.Trainers.Native;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Tests.Native;

[TestClass]
public sealed class TorchRuntimeTests
{
    private static string PackageLibTorchSharp()
    {
        string torchDir = Path.GetDirectoryName(typeof(torch).Assembly.Location)!;
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p : Path.Combine(home, ".nuget", "packages");
        string inPackage = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (File.Exists(inPackage)) return inPackage;
        Assert.Inconclusive($"TorchSharp's package folder was not found at {inPackage} (test output: {torchDir}).");
        return "";
    }

    [TestMethod]
    public void ElfHash_MatchesTheSystemVDefinition()
    {
        // Values the GNU toolchain writes for these names (readelf -V shows them as vna_hash).
        Assert.AreEqual(0x08922974u, ElfVersionNeeds.ElfHash("GLIBCXX_3.4"));
        Assert.AreEqual(0x0297f842u, ElfVersionNeeds.ElfHash("GLIBCXX_3.4.32"));
        Assert.AreEqual(0u, ElfVersionNeeds.ElfHash(""));
    }

    [TestMethod]
    public void Retarget_RewritesOnlyTheOneRequirement_AndKeepsTheFileSize()
    {
        byte[] original = File.ReadAllBytes(PackageLibTorchSharp());
        var before = ElfVersionNeeds.Read(original);
        CollectionAssert.Contains(before.ToList(), new ElfVersionNeeds.Need("libstdc++.so.6", "GLIBCXX_3.4.32"));
        CollectionAssert.Contains(before.ToList(), new ElfVersionNeeds.Need("libstdc++.so.6", "GLIBCXX_3.4"));

        byte[] patched = (byte[])original.Clone();
        Assert.AreEqual("GLIBCXX_3.4", ElfVersionNeeds.Retarget(patched, "GLIBCXX_3.4.32"));
        Assert.HasCount(original.Length, patched);
        int changed = Enumerable.Range(0, original.Length).Count(i => original[i] != patched[i]);
        Assert.IsTrue(changed is > 0 and <= 8, $"{changed} bytes changed; only vna_hash and vna_name may (8 bytes)");

        var after = ElfVersionNeeds.Read(patched);
        Assert.HasCount(before.Count, after);
        Assert.IsFalse(after.Any(n => n.Version == "GLIBCXX_3.4.32"));
        Assert.AreEqual(before.Count(n => n.Version == "GLIBCXX_3.4") + 1, after.Count(n => n.Version == "GLIBCXX_3.4"));
        // Already patched: nothing left to do.
        Assert.IsNull(ElfVersionNeeds.Retarget(patched, "GLIBCXX_3.4.32"));
    }

    [TestMethod]
    public void Read_RejectsWhatIsNotAnElf64File()
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeeds.Read("#!/bin/sh\necho not a library\n"u8.ToArray().Concat(new byte[64]).ToArray()));
        StringAssert.Contains(e.Message, "Not an ELF file");
        var truncated = File.ReadAllBytes(PackageLibTorchSharp())[..4096];
        Assert.ThrowsExactly<InvalidDataException>(() => ElfVersionNeeds.Read(truncated));
    }

    [TestMethod]
    public void OnThisSystem_TorchSharpLoads_AndAPatchedCopyIsUsedOnlyWhenLibStdCxxIsOld()
    {
        TorchRuntime.Initialize();
        using var t = torch.arange(5, dtype: torch.float32).sum();
        Assert.AreEqual(10f, t.item<float>());

        string stdcxx = File.ReadLines("/proc/self/maps").Select(l => l.IndexOf('/') is int i and >= 0 ? l[i..].Trim() : "")
            .First(p => p.Contains("/libstdc++.so.6", StringComparison.Ordinal));
        bool old = File.ReadAllBytes(stdcxx).AsSpan().IndexOf("GLIBCXX_3.4.32"u8) < 0;
        if (!old)
        {
            Assert.IsNull(TorchRuntime.PatchedLibraryPath, "a GCC 13+ runtime must be left alone");
            return;
        }
        string patched = TorchRuntime.PatchedLibraryPath ?? throw new AssertFailedException($"{stdcxx} lacks GLIBCXX_3.4.32 but no patched copy is in use");
        Assert.IsFalse(ElfVersionNeeds.Read(File.ReadAllBytes(patched)).Any(n => n.Version == "GLIBCXX_3.4.32"));
        Assert.IsFalse(patched.Contains(Path.Combine(".nuget", "packages"), StringComparison.Ordinal), patched);
        // The package's own file is never modified.
        Assert.IsTrue(ElfVersionNeeds.Read(File.ReadAllBytes(PackageLibTorchSharp())).Any(n => n.Version == "GLIBCXX_3.4.32"));
        Assert.IsTrue(File.ReadLines("/proc/self/maps").Any(l => l.EndsWith(patched, StringComparison.Ordinal)), "the patched copy is the one mapped");
    }
}
