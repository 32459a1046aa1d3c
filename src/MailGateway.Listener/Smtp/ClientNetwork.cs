using System.Net;
using System.Net.Sockets;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// Whom a per-client limit counts: an IPv4 address, or an IPv6 /64 network (one host or site picks its own addresses
/// from it, so per-address counting alone would give it 2^64 allowances).
/// </summary>
internal static class ClientNetwork
{
    public static IPAddress Of(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }
}
