//! The live page: a WebSocket that shows the cart, adds to it over the socket (saved on
//! demand), and closes the moment the session ends elsewhere: "log out other devices"
//! from another browser, a password change, a logout in another tab, or expiry.
//!
//! The socket is a [`LiveSession`]: refused from another origin (cross-site WebSocket
//! hijacking) and without a session (none is created for it).

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{Html, Response};
use session_tower::{Ended, LiveSession, Session, SessionError};

use crate::{known, render};

/// The close code the page shows as "your session ended" (4000-4999 are the
/// application's own).
pub const SESSION_ENDED: u16 = 4000;

/// `GET /live`: the page; its script opens the socket.
pub(crate) async fn page(session: Session) -> Result<Html<String>, SessionError> {
    let body = r#"<p>This page holds a WebSocket to the shop. Log out your other devices from another
browser (or change your password there) and it closes at once.</p>
<p>Live cart: <b id="live-cart">connecting…</b></p>
<p><button id="live-add">Add a pear over the socket</button></p>
<p id="live-status" class="note">connecting…</p>
<script>
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/live/socket');
const status = document.getElementById('live-status');
ws.onopen = () => { status.textContent = 'connected'; };
ws.onmessage = (e) => { document.getElementById('live-cart').textContent = e.data || '(empty)'; };
ws.onclose = (e) => {
  status.textContent = e.code === 4000 ? 'closed: ' + e.reason : 'closed (' + e.code + ')';
  status.dataset.closedAt = String(Date.now());
};
document.getElementById('live-add').onclick = () => ws.send('add:pear');
</script>"#;
    render(&session, "Live", body).await
}

/// `GET /live/socket`: the WebSocket.
pub(crate) async fn socket(ws: WebSocketUpgrade, live: LiveSession) -> Response {
    ws.on_upgrade(move |socket| serve(socket, live))
}

async fn serve(mut socket: WebSocket, live: LiveSession) {
    if send_cart(&mut socket, &live).await.is_err() {
        return;
    }
    let ended = live.ended();
    tokio::pin!(ended);
    loop {
        tokio::select! {
            why = &mut ended => {
                let frame = CloseFrame { code: SESSION_ENDED, reason: reason(why).into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
                return;
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    if let Some(product) = t.as_str().strip_prefix("add:").filter(|p| known(p)) {
                        // Saved now: nothing saves a socket's changes for it.
                        let added = async {
                            crate::add(&live, product).await?;
                            live.save().await
                        };
                        if added.await.is_err() || send_cart(&mut socket, &live).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => return, // closed by the browser
            }
        }
    }
}

async fn send_cart(socket: &mut WebSocket, live: &Session) -> Result<(), ()> {
    let cart = crate::cart_of(live).await.map_err(drop)?;
    socket
        .send(Message::Text(cart.join(", ").into()))
        .await
        .map_err(drop)
}

/// What the page says when the session ends.
fn reason(why: Ended) -> &'static str {
    match why {
        Ended::Expired => "your session expired",
        _ => "your session was ended elsewhere",
    }
}
