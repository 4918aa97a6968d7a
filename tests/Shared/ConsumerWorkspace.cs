using System.Diagnostics;

namespace Aigc.MLNet.Testing;

/// <summary>
/// A temporary folder outside the repository where fresh console apps and notebooks install the Aigc.MLNet packages
/// from the local feed (artifacts/packages), as a user would: its nuget.config (or, for notebooks, the user-level NuGet
/// config of a home folder of its own) adds the feed to the machine's usual sources.
/// </summary>
/// <remarks>
/// The packages are re-packed with the same version during development, and NuGet never refreshes an extracted
/// id/version in its global packages folder. So restores here use a packages folder of their own whose entries are
/// symbolic links to the machine's folder (nothing large is downloaded or copied again), except the Aigc.MLNet
/// packages, which are extracted afresh from the feed each time.
/// </remarks>
internal sealed class ConsumerWorkspace : IDisposable
{
    /// <summary>Creates the workspace.</summary>
    /// <param name="withheld">Package ids (lower case) left out of the packages folder until <see cref="Provide"/>: as on a machine that never restored them.</param>
    public ConsumerWorkspace(params string[] withheld)
    {
        _withheld = withheld;
        Root = Path.Combine(Path.GetTempPath(), "aigc-consumer-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        Packages = Path.Combine(Root, "packages");
        Directory.CreateDirectory(Packages);
        string machine = MachinePackagesFolder();
        if (Directory.Exists(machine))
            foreach (string dir in Directory.GetDirectories(machine))
            {
                string id = Path.GetFileName(dir);
                if (!id.StartsWith("aigc.mlnet", StringComparison.OrdinalIgnoreCase) && !withheld.Contains(id, StringComparer.OrdinalIgnoreCase))
                    Directory.CreateSymbolicLink(Path.Combine(Packages, id), dir);
            }
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="aigc-workspace-feed" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
    }

    private readonly string[] _withheld;

    /// <summary>Links a withheld package from the machine's packages folder, so restoring it downloads nothing.</summary>
    public void Provide(string id)
    {
        Assert.Contains(id, _withheld);
        string source = Path.Combine(MachinePackagesFolder(), id);
        if (!Directory.Exists(source)) Assert.Inconclusive($"{source} is not restored on this machine.");
        Directory.CreateSymbolicLink(Path.Combine(Packages, id), source);
    }

    /// <summary>The workspace folder (deleted on dispose).</summary>
    public string Root { get; }

    /// <summary>The isolated global packages folder of this workspace.</summary>
    public string Packages { get; }

    /// <summary>The repository's local feed.</summary>
    public static string Feed => Path.Combine(RepositoryRoot(), "artifacts", "packages");

    /// <summary>The folder holding Aigc.MLNet.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Aigc.MLNet.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("Aigc.MLNet.sln was not found above the test output folder.");
    }

    /// <summary>The .nupkg of <paramref name="id"/> in the feed; fails naming eng/pack.sh when it is not there.</summary>
    public static string Package(string id, string extension = ".nupkg")
    {
        var found = Directory.Exists(Feed)
            ? Directory.GetFiles(Feed, $"{id}.*{extension}").Where(f => Path.GetFileName(f)[(id.Length + 1)..].Length > 0 && char.IsDigit(Path.GetFileName(f)[id.Length + 1])).ToArray()
            : [];
        if (found.Length != 1)
            Assert.Fail($"Expected one {id} {extension} in {Feed}, found {found.Length}: run `bash eng/pack.sh` first (eng/test.sh does).");
        return found[0];
    }

    /// <summary>Creates a console app with `dotnet new console` and replaces its Program.cs.</summary>
    public string NewConsoleApp(string name, string programSource)
    {
        var created = Run("dotnet", ["new", "console", "--name", name, "--output", Path.Combine(Root, name), "--no-restore", "--framework", "net10.0"], Root, TimeSpan.FromMinutes(3));
        Assert.AreEqual(0, created.Code, created.Output);
        string app = Path.Combine(Root, name);
        File.Copy(programSource, Path.Combine(app, "Program.cs"), overwrite: true);
        return app;
    }

    /// <summary>`dotnet add package ID --version V` in the app folder (restores from the feed and the usual sources).</summary>
    public void AddPackage(string app, string id, string version)
    {
        var added = Run("dotnet", ["add", "package", id, "--version", version], app, TimeSpan.FromMinutes(10));
        Assert.AreEqual(0, added.Code, $"dotnet add package {id} {version}:\n{added.Output}");
    }

    /// <summary>
    /// A home folder for child processes whose user-level NuGet config has the machine's default sources plus the local
    /// feed, made with `dotnet nuget add source` exactly as notebooks/README.md tells users. Tools that restore in
    /// folders of their own (the .NET Interactive kernel's #r "nuget:") read only that config.
    /// </summary>
    public string CreateHome()
    {
        string home = Path.Combine(Root, "home");
        Directory.CreateDirectory(home);
        // Run from the file-system root: NuGet refuses a source that a nuget.config above the working folder (this workspace's) already lists.
        var added = Run("dotnet", ["nuget", "add", "source", Feed, "--name", "aigc-local"], Path.GetPathRoot(home)!, TimeSpan.FromMinutes(2), new() { ["HOME"] = home });
        Assert.AreEqual(0, added.Code, $"dotnet nuget add source:\n{added.Output}");
        return home;
    }

    /// <summary>`dotnet run -c Release -- args` in the app folder.</summary>
    public (int Code, string Output) RunApp(string app, params string[] args) =>
        Run("dotnet", ["run", "-c", "Release", "--", .. args], app, TimeSpan.FromMinutes(10));

    /// <summary>Runs a process with this workspace's packages folder and without the test host's MSBuild variables.</summary>
    /// <param name="file">Program.</param>
    /// <param name="args">Arguments.</param>
    /// <param name="workingDirectory">Working directory.</param>
    /// <param name="timeout">The process is killed (and the test fails) after this long.</param>
    /// <param name="environment">Extra environment variables (a null value removes one).</param>
    public (int Code, string Output) Run(string file, string[] args, string workingDirectory, TimeSpan timeout, Dictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        foreach (string a in args) start.ArgumentList.Add(a);
        // The test host runs under `dotnet test`: its MSBuild variables must not steer the apps' own builds.
        foreach (string key in start.Environment.Keys.ToArray())
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                start.Environment.Remove(key);
        start.Environment["NUGET_PACKAGES"] = Packages;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (key, value) in environment ?? [])
            start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{file} {string.Join(' ', args)}' did not finish within {timeout}.");
        }
        process.WaitForExit();
        return (process.ExitCode, output.Result + error.Result);
    }

    private static string MachinePackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
