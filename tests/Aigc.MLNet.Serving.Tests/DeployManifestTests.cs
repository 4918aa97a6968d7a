using System.Net;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Aigc.MLNet.Serving.Tests;

/// <summary>
/// deploy/ cannot run here (no container engine, no cluster), so its files are read and checked against the server:
/// the Kubernetes manifest parses as YAML, its probes' paths answer 200 on a running server, its ports, user and model
/// mount agree with the Dockerfile.
/// </summary>
[TestClass]
public sealed class DeployManifestTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Aigc.MLNet.sln"))) return dir.FullName;
        throw new InvalidOperationException("The repository root (Aigc.MLNet.sln) was not found above the test binaries.");
    }

    private static List<YamlMappingNode> Documents()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepoRoot(), "deploy", "kubernetes.yaml"))) yaml.Load(reader);
        return yaml.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (string key in path)
        {
            var map = node as YamlMappingNode ?? throw new AssertFailedException($"'{key}': expected a mapping above it.");
            Assert.IsTrue(map.Children.TryGetValue(new YamlScalarNode(key), out var child), $"missing key '{key}'");
            node = child!;
        }
        return node;
    }

    private static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;

    private static List<string> Strings(YamlNode node) => ((YamlSequenceNode)node).Children.Select(c => ((YamlScalarNode)c).Value!).ToList();

    [TestMethod]
    public async Task KubernetesManifest_IsAValidDeploymentAndService_WhoseProbesTheServerAnswers()
    {
        var docs = Documents();
        Assert.AreEqual(2, docs.Count);
        var deployment = docs.Single(d => Text(d, "kind") == "Deployment");
        var service = docs.Single(d => Text(d, "kind") == "Service");
        Assert.AreEqual("apps/v1", Text(deployment, "apiVersion"));
        Assert.AreEqual("v1", Text(service, "apiVersion"));

        // Labels tie the Deployment's pods to its selector and to the Service.
        var podLabels = (YamlMappingNode)At(deployment, "spec", "template", "metadata", "labels");
        foreach (var selector in new[] { (YamlMappingNode)At(deployment, "spec", "selector", "matchLabels"), (YamlMappingNode)At(service, "spec", "selector") })
            foreach (var (key, value) in selector.Children)
                Assert.AreEqual(((YamlScalarNode)value).Value, ((YamlScalarNode)podLabels.Children[key]).Value);

        var pod = At(deployment, "spec", "template", "spec");
        var container = ((YamlSequenceNode)At(pod, "containers")).Children.Single();
        var args = Strings(At(container, "args"));
        string Flag(string name) => args[args.IndexOf(name) + 1];
        int port = int.Parse(Flag("--port"));
        Assert.AreEqual("0.0.0.0", Flag("--host"), "a pod must listen beyond loopback");
        var containerPort = ((YamlSequenceNode)At(container, "ports")).Children.Single();
        Assert.AreEqual(port.ToString(), Text(containerPort, "containerPort"));
        string portName = Text(containerPort, "name");
        var servicePort = ((YamlSequenceNode)At(service, "spec", "ports")).Children.Single();
        Assert.AreEqual(portName, Text(servicePort, "targetPort"));

        // Every probe is an HTTP GET on the named port, to a path the server answers 200.
        var probes = new[] { "startupProbe", "livenessProbe", "readinessProbe" }.ToDictionary(p => p, p => Text(container, p, "httpGet", "path"));
        foreach (var p in probes.Keys) Assert.AreEqual(portName, Text(container, p, "httpGet", "port"), p);
        Assert.AreEqual("/health/ready", probes["readinessProbe"]);
        Assert.AreEqual("/health/live", probes["livenessProbe"]);
        await using (var server = await TestModels.StartServerAsync(TestModels.Tiny, o => o.ApiKey = "probes-need-no-key"))
        {
            using var http = TestModels.Http(server);
            foreach (var (probe, path) in probes)
                Assert.AreEqual(HttpStatusCode.OK, (await http.GetAsync(path.TrimStart('/'))).StatusCode, $"{probe} {path}");
            Assert.AreEqual(HttpStatusCode.OK, (await http.GetAsync(Text(deployment, "spec", "template", "metadata", "annotations", "prometheus.io/path").TrimStart('/'))).StatusCode);
        }

        // Resources, a non-root user, the model read-only, a grace period longer than the server's drain.
        Assert.IsTrue(Regex.IsMatch(Text(container, "resources", "requests", "cpu"), @"^\d+(m)?$"));
        Assert.IsTrue(Regex.IsMatch(Text(container, "resources", "requests", "memory"), @"^\d+(Mi|Gi)$"));
        Assert.AreEqual("true", Text(pod, "securityContext", "runAsNonRoot"));
        Assert.AreNotEqual("0", Text(pod, "securityContext", "runAsUser"));
        var mount = ((YamlSequenceNode)At(container, "volumeMounts")).Children.Single(m => Text(m, "name") == "model");
        Assert.AreEqual(Flag("--model"), Text(mount, "mountPath"));
        Assert.AreEqual("true", Text(mount, "readOnly"));
        var volume = ((YamlSequenceNode)At(pod, "volumes")).Children.Single(v => Text(v, "name") == "model");
        Assert.AreEqual("true", Text(volume, "persistentVolumeClaim", "readOnly"));
        Assert.IsTrue(int.Parse(Text(pod, "terminationGracePeriodSeconds")) > int.Parse(Flag("--shutdown-timeout")));
        // The key comes from a Secret through the variable --api-key-env names.
        string keyVariable = Flag("--api-key-env");
        var env = ((YamlSequenceNode)At(container, "env")).Children.Single(e => Text(e, "name") == keyVariable);
        Assert.AreEqual("api-key", Text(env, "valueFrom", "secretKeyRef", "key"));
    }

    [TestMethod]
    public void Dockerfile_IsMultiStage_NonRoot_AndAgreesWithTheManifest()
    {
        string[] lines = File.ReadAllLines(Path.Combine(RepoRoot(), "deploy", "Dockerfile"));
        var stages = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.AreEqual(2, stages.Count);
        StringAssert.Contains(stages[0], "/sdk:10.0 AS build");
        StringAssert.Contains(stages[1], "/aspnet:10.0 AS runtime");
        Assert.IsTrue(lines.Any(l => l.StartsWith("COPY --from=build /app", StringComparison.Ordinal)), "the runtime stage takes only the published output");
        string user = lines.Single(l => l.StartsWith("USER ", StringComparison.Ordinal))["USER ".Length..].Trim();
        Assert.IsTrue(int.TryParse(user, out int uid) && uid > 0, "a numeric non-root user, so runAsNonRoot can check it");
        Assert.IsTrue(lines.Single(l => l.StartsWith("RUN dotnet publish", StringComparison.Ordinal)).Contains("src/Cli/Aigc.MLNet.Cli.csproj"));

        var pod = At(Documents().Single(d => Text(d, "kind") == "Deployment"), "spec", "template", "spec");
        Assert.AreEqual(user, Text(pod, "securityContext", "runAsUser"));
        var container = ((YamlSequenceNode)At(pod, "containers")).Children.Single();
        string expose = lines.Single(l => l.StartsWith("EXPOSE ", StringComparison.Ordinal))["EXPOSE ".Length..].Trim();
        Assert.AreEqual(expose, Text(((YamlSequenceNode)At(container, "ports")).Children.Single(), "containerPort"));
        string cmd = lines.Single(l => l.StartsWith("CMD ", StringComparison.Ordinal));
        StringAssert.Contains(cmd, "\"--model\", \"/model\"");
        StringAssert.Contains(cmd, $"\"--port\", \"{expose}\"");
        StringAssert.Contains(cmd, "\"--host\", \"0.0.0.0\"");
    }
}
