namespace MailGateway.Core.Status;

/// <summary>Rules about <see cref="MessageState"/>, written once for the handler and every status store.</summary>
public static class MessageStates
{
    /// <summary>
    /// True for the states a message never leaves: <see cref="MessageState.Delivered"/>, <see cref="MessageState.Failed"/>,
    /// <see cref="MessageState.Expired"/>, <see cref="MessageState.Unknown"/>, <see cref="MessageState.Canceled"/> and
    /// <see cref="MessageState.Suppressed"/>.
    /// A job whose message is in one of them completes without sending (the ledger).
    /// </summary>
    public static bool IsFinal(this MessageState state) =>
        state is MessageState.Delivered or MessageState.Failed or MessageState.Expired or MessageState.Unknown or MessageState.Canceled or MessageState.Suppressed;

    /// <summary>
    /// True for the states an operator may cancel: no attempt is running (<see cref="MessageState.Queued"/>,
    /// <see cref="MessageState.Scheduled"/>, <see cref="MessageState.Deferred"/>).
    /// </summary>
    public static bool IsCancelable(this MessageState state) =>
        state is MessageState.Queued or MessageState.Scheduled or MessageState.Deferred;

    /// <summary>True for the states of a message still waiting for its first attempt (<see cref="MessageState.Queued"/>, <see cref="MessageState.Scheduled"/>).</summary>
    public static bool IsWaitingForFirstAttempt(this MessageState state) =>
        state is MessageState.Queued or MessageState.Scheduled;
}
