"""The simulated radio's virtual controllers: what bumble's ``Controller`` leaves out that a strap can do.

* :class:`StrapController`: a strap's controller that can stop answering connection requests
  (it still advertises, so a scan finds it), as a real strap does that went out of reach or
  hung right after a scan saw it;
* :class:`CentralController`: the app's controller. It only completes a connection that the
  strap answers (one that never answers leaves the LE Create Connection pending, as on a real
  adapter), and it cancels a pending connection as the specification says (bumble's own
  controller acknowledges the cancel but leaves the request pending and never reports its
  end, so the next connection would find a stale one).

Thread: the radio's asyncio loop.
"""

from __future__ import annotations

import asyncio

from bumble import hci
from bumble.controller import Controller


class StrapController(Controller):
    """A strap's controller; ``answers()`` says whether it takes a connection request now."""

    def answers(self) -> bool:
        """Whether the strap answers a connection request now (the radio sets the strap's own)."""
        return True


class CentralController(Controller):
    """The app's controller: connects only to a strap that answers, and cancels like a real adapter."""

    def create_le_connection(self, peer_address: hci.Address) -> None:
        """Called for each advertisement of the peer while a connection is pending."""
        target = self.link.find_le_controller(peer_address)
        if isinstance(target, StrapController) and not target.answers():
            return  # the request goes unanswered: still pending, as long as the strap keeps silent
        super().create_le_connection(peer_address)

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        """End a pending connection: LE Connection Complete with Unknown Connection Identifier (Vol 4 E 7.8.13)."""
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        asyncio.get_running_loop().call_soon(self.send_hci_packet, hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR, connection_handle=0, role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type, peer_address=pending.peer_address,
            connection_interval=0, peripheral_latency=0, supervision_timeout=0, central_clock_accuracy=0,
        ))  # after the command's own completion, as a controller does
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)
