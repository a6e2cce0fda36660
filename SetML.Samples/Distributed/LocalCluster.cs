using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;

namespace SetML.Samples.Distributed;

/// <summary>
/// N Orleans silos and a client in this process, on 127.0.0.1 only (development clustering: the first silo keeps the
/// membership table). Each silo has its own DI container, so each loads its own copy of the model. For several machines,
/// replace <c>UseLocalhostClustering</c> by a real clustering provider (see docs/scale.md).
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly List<IHost> silos = new();
    private IHost? clientHost;

    private LocalCluster() { }

    /// <summary>The client connected to every silo's gateway.</summary>
    public IClusterClient Client { get; private set; } = null!;

    /// <summary>Number of silos.</summary>
    public int SiloCount => silos.Count;

    /// <summary>Starts <paramref name="siloCount"/> silos serving the set-encoding grains with the model at <paramref name="modelPath"/>, and a client.</summary>
    public static async Task<LocalCluster> StartAsync(int siloCount, string modelPath, int maxConcurrentEncodesPerSilo, CancellationToken cancellation = default)
    {
        if (siloCount < 1) throw new ArgumentOutOfRangeException(nameof(siloCount), siloCount, "At least one silo.");
        var cluster = new LocalCluster();
        string clusterId = "setml-" + Guid.NewGuid().ToString("N")[..8], serviceId = "setml-distributed-encode";
        var siloPorts = FreePorts(siloCount);
        var gatewayPorts = FreePorts(siloCount);
        var primary = new IPEndPoint(IPAddress.Loopback, siloPorts[0]);
        try
        {
            for (int i = 0; i < siloCount; i++)
            {
                var builder = Host.CreateApplicationBuilder(Array.Empty<string>());
                builder.Logging.ClearProviders();                              // failures surface as exceptions to the caller
                int siloPort = siloPorts[i], gatewayPort = gatewayPorts[i];
                builder.UseOrleans(silo => silo
                    .UseLocalhostClustering(siloPort, gatewayPort, primary, serviceId, clusterId)
                    .AddSetEncoderGrains(modelPath, maxConcurrentEncodesPerSilo));
                var host = builder.Build();
                cluster.silos.Add(host);
                await host.StartAsync(cancellation).ConfigureAwait(false);
            }
            var clientBuilder = Host.CreateApplicationBuilder(Array.Empty<string>());
            clientBuilder.Logging.ClearProviders();
            clientBuilder.UseOrleansClient(client => client.UseLocalhostClustering(gatewayPorts, serviceId, clusterId));
            cluster.clientHost = clientBuilder.Build();
            await cluster.clientHost.StartAsync(cancellation).ConfigureAwait(false);
            cluster.Client = cluster.clientHost.Services.GetService(typeof(IClusterClient)) as IClusterClient
                ?? throw new InvalidOperationException("The Orleans client host has no IClusterClient.");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Distinct free TCP ports on 127.0.0.1.</summary>
    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        foreach (var l in listeners) l.Start();
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        foreach (var l in listeners) l.Stop();
        return ports;
    }

    /// <summary>Stops the client and the silos (last silo first, the primary last).</summary>
    public async ValueTask DisposeAsync()
    {
        if (clientHost != null) { await clientHost.StopAsync().ConfigureAwait(false); clientHost.Dispose(); }
        for (int i = silos.Count - 1; i >= 0; i--)
        {
            await silos[i].StopAsync().ConfigureAwait(false);
            silos[i].Dispose();
        }
        silos.Clear();
    }
}
