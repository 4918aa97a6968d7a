using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Security.Cryptography;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Native;

/// <summary>
/// Makes TorchSharp's native library load, and explains what is missing when it cannot.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's <c>libLibTorchSharp.so</c> requires the symbol version GLIBCXX_3.4.32 (GCC 13's libstdc++) for a
/// single symbol, <c>std::ios_base_library_init()</c>, which it references but never calls (no relocation uses it).
/// Where the process's libstdc++ lacks that version (Debian 12), the loader refuses the library. This class then
/// writes a copy whose one version requirement names GLIBCXX_3.4 instead, in a cache folder outside the NuGet cache
/// (<c>$AIGC_NATIVE_CACHE</c>, else <c>$XDG_CACHE_HOME/aigc-mlnet/native</c>, else <c>~/.cache/aigc-mlnet/native</c>),
/// loads libtorch from the application or the libtorch package, and answers TorchSharp's request for "LibTorchSharp"
/// with the copy through a DllImport resolver. On systems with GCC 13+ runtimes, on other platforms, and when the
/// library found is already patched, it does nothing. It runs before any code of this assembly (a module initializer),
/// so every trainer is covered; call <see cref="Initialize"/> yourself before using TorchSharp directly.
/// </remarks>
public static class TorchRuntime
{
    private const string MissingVersion = "GLIBCXX_3.4.32";
    private const string LibTorchSharpFile = "libLibTorchSharp.so";
    private static readonly string[] LibTorchFiles = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];
    private static readonly object Gate = new();
    private static bool resolverInstalled;
    private static bool patchAttempted;
    private static IntPtr patchedHandle;
    private static string? patchFailure;
    private static readonly Dictionary<string, IntPtr> LibTorchHandles = new(StringComparer.Ordinal);

    /// <summary>The libtorch package this build of TorchSharp needs (CPU flavour).</summary>
    public const string LibTorchCpuPackage = "libtorch-cpu-linux-x64";

    /// <summary>The libtorch version TorchSharp 0.107 was built against.</summary>
    public const string LibTorchVersion = "2.10.0";

    /// <summary>Path of the patched copy of libLibTorchSharp.so in use, or null when none was needed.</summary>
    public static string? PatchedLibraryPath { get; private set; }

#pragma warning disable CA2255 // A library module initializer on purpose: the resolver must be in place before TorchSharp's first native call.
    [ModuleInitializer]
    internal static void InstallOnLoad() => InstallResolver();
#pragma warning restore CA2255

    /// <summary>
    /// Prepares TorchSharp's native library (see the remarks of <see cref="TorchRuntime"/>) and loads it; throws
    /// <see cref="InvalidOperationException"/> naming the package to add when libtorch is missing.
    /// </summary>
    public static void Initialize()
    {
        InstallResolver();
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e) when (e is not InvalidOperationException { Source: "Aigc.MLNet.Trainers" })
        {
            throw new InvalidOperationException(MissingLibTorchMessage(e), e) { Source = "Aigc.MLNet.Trainers" };
        }
    }

    private static string MissingLibTorchMessage(Exception e)
    {
        string reason = patchFailure is null ? "" : $" Patching TorchSharp for this system's libstdc++ failed: {patchFailure}.";
        var inner = e;
        while (inner.InnerException is not null) inner = inner.InnerException;
        string first = inner.Message.Split('\n', 2)[0];
        return "TorchSharp's native libraries (libtorch) could not be loaded. Aigc.MLNet.Trainers depends on TorchSharp's managed package only: " +
               $"add libtorch to your application, `dotnet add package {LibTorchCpuPackage} --version {LibTorchVersion}` (CPU) or a CUDA libtorch of the same version; " +
               $"in a notebook, `#r \"nuget: {LibTorchCpuPackage}, {LibTorchVersion}\"`.{reason} ({inner.GetType().Name}: {first})";
    }

    private static void InstallResolver()
    {
        lock (Gate)
        {
            if (resolverInstalled) return;
            resolverInstalled = true;
            OpenMpWaitPolicy.Apply();
            if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return;
            var torchAssembly = typeof(torch).Assembly;
            // TorchSharp loads "LibTorchSharp" with NativeLibrary.TryLoad(name, assembly), which skips DllImport
            // resolvers but raises the load context's ResolvingUnmanagedDll event when the normal load fails (here:
            // the version check). P/Invokes go through the resolver first.
            var context = AssemblyLoadContext.GetLoadContext(torchAssembly) ?? AssemblyLoadContext.Default;
            context.ResolvingUnmanagedDll += (assembly, name) => assembly == torchAssembly ? Resolve(name, assembly, null) : IntPtr.Zero;
            try
            {
                NativeLibrary.SetDllImportResolver(torchAssembly, Resolve);
            }
            catch (InvalidOperationException)
            {
                // The application installed its own resolver for TorchSharp; the event above still applies.
            }
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name is "LibTorchSharp" or LibTorchSharpFile) return PatchedLibTorchSharp();
        lock (Gate)
            return LibTorchHandles.TryGetValue(name, out var handle) ? handle : IntPtr.Zero;
    }

    private static IntPtr PatchedLibTorchSharp()
    {
        lock (Gate)
        {
            if (patchAttempted) return patchedHandle;
            patchAttempted = true;
            try
            {
                patchedHandle = LoadPatchedCopy();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or DllNotFoundException or BadImageFormatException)
            {
                patchFailure = e.Message;
                patchedHandle = IntPtr.Zero;
            }
            return patchedHandle;
        }
    }

    private static IntPtr LoadPatchedCopy()
    {
        if (SystemLibStdCxx() is not { } stdcxx || File.ReadAllBytes(stdcxx).AsSpan().IndexOf("GLIBCXX_3.4.32"u8) >= 0)
            return IntPtr.Zero;
        string? original = FindFile(LibTorchSharpFile, TorchSharpFolders());
        if (original is null) return IntPtr.Zero;
        byte[] bytes = File.ReadAllBytes(original);
        if (!ElfVersionNeeds.Read(bytes).Any(n => n.Version == MissingVersion)) return IntPtr.Zero;

        // libtorch first, by full path: the copy's NEEDED entries (libtorch.so, libc10.so, libtorch_cpu.so) then match
        // the loaded libraries by soname, although the copy's $ORIGIN holds nothing else.
        string? libtorch = LibTorchFolders(original).FirstOrDefault(d => LibTorchFiles.All(f => File.Exists(Path.Combine(d, f))));
        if (libtorch is null)
            throw new DllNotFoundException($"{LibTorchFiles[1]} was found neither beside {original} nor in a {LibTorchCpuPackage} {LibTorchVersion} package folder");
        foreach (string file in LibTorchFiles)
        {
            IntPtr handle = NativeLibrary.Load(Path.Combine(libtorch, file));
            string key = Path.GetFileNameWithoutExtension(file).Replace("lib", "", StringComparison.Ordinal);
            LibTorchHandles[key] = handle;
            LibTorchHandles[file] = handle;
        }

        string hash = Convert.ToHexString(SHA256.HashData(bytes))[..16].ToLowerInvariant();
        string folder = Path.Combine(CacheRoot(), $"torchsharp-{hash}");
        string patched = Path.Combine(folder, LibTorchSharpFile);
        if (!IsPatched(patched))
        {
            if (ElfVersionNeeds.Retarget(bytes, MissingVersion) is null)
                throw new InvalidDataException($"{original} lost its {MissingVersion} requirement while being patched");
            Directory.CreateDirectory(folder);
            // Written beside and renamed: concurrent processes never load half a library.
            string tmp = Path.Combine(folder, $".{LibTorchSharpFile}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            try
            {
                File.WriteAllBytes(tmp, bytes);
                File.Move(tmp, patched, overwrite: true);
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
        }
        IntPtr result = NativeLibrary.Load(patched);
        PatchedLibraryPath = patched;
        return result;
    }

    private static bool IsPatched(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            return !ElfVersionNeeds.Read(File.ReadAllBytes(path)).Any(n => n.Version == MissingVersion);
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>The libstdc++ this process has loaded (the dotnet host links it), from /proc/self/maps.</summary>
    private static string? SystemLibStdCxx()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash >= 0 && line.AsSpan(slash).Contains("/libstdc++.so.6", StringComparison.Ordinal))
                    return line[slash..].Trim();
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    private static IEnumerable<string> TorchSharpFolders()
    {
        string baseDir = AppContext.BaseDirectory;
        yield return Path.Combine(baseDir, "runtimes", "linux-x64", "native");
        yield return baseDir;
        string? assemblyDir = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (!string.IsNullOrEmpty(assemblyDir))
        {
            // Loaded from its package (notebooks, scripts): <package>/lib/<tfm>/TorchSharp.dll.
            yield return Path.GetFullPath(Path.Combine(assemblyDir, "..", "..", "runtimes", "linux-x64", "native"));
            yield return assemblyDir;
        }
        foreach (string dir in NativeSearchDirectories()) yield return dir;
    }

    private static IEnumerable<string> LibTorchFolders(string libTorchSharp)
    {
        yield return Path.GetDirectoryName(libTorchSharp)!;
        foreach (string dir in TorchSharpFolders()) yield return dir;
        foreach (string root in PackageRoots())
            yield return Path.Combine(root, LibTorchCpuPackage, LibTorchVersion, "runtimes", "linux-x64", "native");
    }

    private static IEnumerable<string> PackageRoots()
    {
        string? assemblyDir = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (!string.IsNullOrEmpty(assemblyDir))
            yield return Path.GetFullPath(Path.Combine(assemblyDir, "..", "..", "..", ".."));   // <root>/torchsharp/<ver>/lib/<tfm>
        // NuGet's global packages folder, as NuGet itself resolves it.
        if (Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages) yield return packages;
        else if (Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home) yield return Path.Combine(home, ".nuget", "packages");
    }

    private static IEnumerable<string> NativeSearchDirectories() =>
        (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") as string ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);

    private static string CacheRoot()
    {
        if (Environment.GetEnvironmentVariable("AIGC_NATIVE_CACHE") is { Length: > 0 } explicitRoot) return explicitRoot;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string baseDir = !string.IsNullOrEmpty(xdg) ? xdg : home.Length > 0 ? Path.Combine(home, ".cache") : Path.GetTempPath();
        return Path.Combine(baseDir, "aigc-mlnet", "native");
    }

    private static string? FindFile(string file, IEnumerable<string> folders) =>
        folders.Select(d => Path.Combine(d, file)).FirstOrDefault(File.Exists);
}
