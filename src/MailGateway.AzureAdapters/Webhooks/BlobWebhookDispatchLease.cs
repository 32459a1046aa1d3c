using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Webhooks;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Webhooks;

/// <summary>
/// The webhook dispatch lease of the delivery worker's replicas: a Blob lease of <see cref="Duration"/> on the blob
/// <see cref="BlobName"/> of the content container (the worker may write there already), taken by one replica and
/// renewed by it a third of the way through; the others find it taken and do not send. A replica that stops (scale-in,
/// a crash) releases nothing: another takes the lease when it runs out, at most <see cref="Duration"/> later.
/// </summary>
public sealed class BlobWebhookDispatchLease : IWebhookDispatchLease, IDisposable
{
    /// <summary>The name of the lease blob in the content container.</summary>
    public const string BlobName = "leases/webhook-dispatcher";

    /// <summary>How long a taken lease lasts without a renewal (Blob leases last 15 to 60 s).</summary>
    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(60);

    private readonly BlobClient _blob;
    private readonly BlobLeaseClient _lease;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DateTimeOffset _renewAt = DateTimeOffset.MinValue;
    private DateTimeOffset _lookAgainAt = DateTimeOffset.MinValue;
    private bool _held;

    /// <summary>Creates the lease on the configured content container (a lease id of its own per process).</summary>
    public BlobWebhookDispatchLease(BlobServiceClient service, IOptions<AzureStorageOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        _blob = service.GetBlobContainerClient(options.Value.ContentContainer).GetBlobClient(BlobName);
        _lease = _blob.GetBlobLeaseClient(Guid.NewGuid().ToString());
        _time = time;
    }

    /// <inheritdoc />
    public async ValueTask<bool> HoldAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_held ? now < _renewAt : now < _lookAgainAt)
        {
            return _held;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            now = _time.GetUtcNow();
            if (_held ? now < _renewAt : now < _lookAgainAt)
            {
                return _held;
            }

            _held = await TakeOrRenewAsync(cancellationToken);
            _renewAt = now + Duration / 3;
            _lookAgainAt = now + TimeSpan.FromSeconds(5);
            return _held;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<bool> TakeOrRenewAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (_held)
                {
                    await _lease.RenewAsync(cancellationToken: cancellationToken);
                }
                else
                {
                    await _lease.AcquireAsync(Duration, cancellationToken: cancellationToken);
                }

                return true;
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // Another replica's lease (LeaseAlreadyPresent), or ours ran out and another took it (LeaseIdMismatch…).
                return false;
            }
            catch (RequestFailedException ex) when (ex.Status == 404 && attempt == 0)
            {
                // No lease blob yet (or no container, in development): create it, then take the lease.
                if (ex.ErrorCode == "ContainerNotFound")
                {
                    await _blob.GetParentBlobContainerClient().CreateIfNotExistsAsync(cancellationToken: cancellationToken);
                }

                try
                {
                    await _blob.UploadAsync(BinaryData.Empty, overwrite: false, cancellationToken);
                }
                catch (RequestFailedException conflict) when (conflict.Status == 409)
                {
                    // Created by another replica meanwhile.
                }

                _held = false;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();
}
