//! The listener over real UDP sockets, IPv4 and IPv6 side by side on one server: Status-Server
//! and PAP answered from either family, junk ignored, and shutdown ending both loops.

use crate::packets::{attributes, check_reply, pap};
use std::net::SocketAddr;
use std::time::Duration;
use tessera_directory::testkit::TestDirectory;
use tessera_radius::fuzzing::{fixture, PW, SECRET};
use tessera_radius::Port;
use tokio::net::UdpSocket;

/// Far above a request's argon2 verification on a busy machine.
const WAIT: Duration = Duration::from_secs(30);

async fn ask(from: &UdpSocket, to: SocketAddr, req: &[u8]) -> Vec<u8> {
    from.send_to(req, to).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, src) = tokio::time::timeout(WAIT, from.recv_from(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    assert_eq!(src, to, "answered from the address asked");
    buf.truncate(n);
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_and_ipv6_listeners_answer_and_stop() {
    let td = TestDirectory::new().unwrap();
    let server = fixture(&td.dir).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut loops = Vec::new();
    let mut addrs = Vec::new();
    for bind in ["127.0.0.1:0", "[::1]:0"] {
        let socket = UdpSocket::bind(bind).await.unwrap();
        addrs.push(socket.local_addr().unwrap());
        let (server, mut stopped) = (server.clone(), stopped.clone());
        loops.push(tokio::spawn(async move {
            server
                .serve(socket, Port::Auth, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        }));
    }
    drop(stopped);
    for (i, to) in addrs.iter().enumerate() {
        let client = UdpSocket::bind(if to.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        })
        .await
        .unwrap();
        // Junk first: dropped, and the next request is still answered.
        client.send_to(b"\x01\x01\x00", to).await.unwrap();
        let id = u8::try_from(i).unwrap();
        let req = pap(id, [id; 16], "alice", PW, &[]);
        let reply = ask(&client, *to, &req).await;
        assert_eq!(reply[0], 2, "Access-Accept over {to}");
        check_reply(&reply, &req);
        assert!(attributes(&reply).contains(&(81, b"42".to_vec())));
        // Status-Server with its Message-Authenticator.
        let mut status = vec![12, 100 + id, 0, 38];
        status.extend_from_slice(&[id; 16]);
        status.extend_from_slice(&[80, 18]);
        status.extend_from_slice(&[0; 16]);
        let m = crate::packets::hmac_md5(SECRET.as_bytes(), &status);
        status[22..38].copy_from_slice(&m);
        let reply = ask(&client, *to, &status).await;
        assert_eq!(reply[0], 2, "Status-Server answered with Access-Accept");
        check_reply(&reply, &status);
    }
    stop.send(true).unwrap();
    for l in loops {
        tokio::time::timeout(WAIT, l)
            .await
            .expect("the loop ends on shutdown")
            .unwrap();
    }
}
