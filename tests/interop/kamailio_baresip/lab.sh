#!/usr/bin/env bash
# A click-to-dial lab on 127.0.0.1 for trying `sipcc dial` by hand (docs/interop.md):
# Kamailio as registrar + proxy with digest, and two baresip phones that register,
# answer automatically and carry out REFER.
#
#   tests/interop/kamailio_baresip/lab.sh start   # starts all three, waits for registrations
#   tests/interop/kamailio_baresip/lab.sh status  # who is registered
#   tests/interop/kamailio_baresip/lab.sh stop
#
# Needs: apt-get install kamailio baresip-core. Ports (env): KAMAILIO_PORT=25060,
# ALICE_PORT=25070, BOB_PORT=25080; digest AUTH_ALGORITHM=MD5 (or SHA-256); files and
# logs in LAB_DIR=/tmp/sipcc-lab.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_DIR="${LAB_DIR:-/tmp/sipcc-lab}"
KAMAILIO_PORT="${KAMAILIO_PORT:-25060}"
ALICE_PORT="${ALICE_PORT:-25070}"
BOB_PORT="${BOB_PORT:-25080}"
AUTH_ALGORITHM="${AUTH_ALGORITHM:-MD5}"  # Kamailio's digest algorithm: MD5 or SHA-256

phone_config() {  # NAME USER PASSWORD SIP_PORT CONTROL_PORT
  local dir="$LAB_DIR/$1"
  mkdir -p "$dir"
  cat >"$dir/config" <<CONFIG
poll_method		epoll
sip_listen		127.0.0.1:$4
call_local_timeout	120
# No sound card: a sine wave in (ausine only does 48 kHz stereo), nothing out.
audio_player		aubridge,sink
audio_alert		aubridge,sink
audio_source		ausine,440
ausrc_srate		48000
ausrc_channels		2
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			aubridge.so
module_tmp		uuid.so
module_tmp		account.so
# menu is the module that carries out an incoming REFER.
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$5
CONFIG
  # The outbound proxy sends every call through Kamailio, also those to sip:N@127.0.0.1
  # (the Refer-To sipcc sends for domain 127.0.0.1).
  echo "<sip:$2@127.0.0.1:$KAMAILIO_PORT>;auth_pass=$3;answermode=auto;regint=600;call_transfer=yes;outbound=\"sip:127.0.0.1:$KAMAILIO_PORT\"" \
    >"$dir/accounts"
}

start() {
  mkdir -p "$LAB_DIR"
  sed -e "s/KAMAILIO_PORT/$KAMAILIO_PORT/g" -e "s#RUN_DIR#$LAB_DIR#g" \
    -e "s/AUTH_ALGORITHM/$AUTH_ALGORITHM/g" \
    "$HERE/kamailio.cfg" >"$LAB_DIR/kamailio.cfg"
  kamailio -c -f "$LAB_DIR/kamailio.cfg" >"$LAB_DIR/kamailio-check.log" 2>&1 ||
    { cat "$LAB_DIR/kamailio-check.log"; exit 1; }
  setsid kamailio -f "$LAB_DIR/kamailio.cfg" -DD -E -m 256 -M 16 -Y "$LAB_DIR" \
    -P "$LAB_DIR/kamailio.pid" >"$LAB_DIR/kamailio.log" 2>&1 &  # Kamailio writes the pid file
  # baresip also takes SIP port + 1 (TLS): the control port is + 5.
  phone_config alice 2001 alice-secret "$ALICE_PORT" $((ALICE_PORT + 5))
  phone_config bob 2002 bob-secret "$BOB_PORT" $((BOB_PORT + 5))
  for phone in alice bob; do
    setsid baresip -f "$LAB_DIR/$phone" -n 127.0.0.1 -s </dev/null >"$LAB_DIR/$phone.log" 2>&1 &
    echo $! >"$LAB_DIR/$phone.pid"
  done
  for _ in $(seq 50); do
    [ "$(registered | grep -c 'AoR:')" -ge 2 ] && { status; return 0; }
    sleep 0.2
  done
  echo "the phones did not register; see $LAB_DIR/*.log" >&2
  exit 1
}

registered() {
  kamcmd -s "unix:$LAB_DIR/kamailio_ctl" ul.dump 2>/dev/null | grep -E "AoR:|Address:" || true
}

status() {
  echo "Kamailio 127.0.0.1:$KAMAILIO_PORT (udp, tcp); registered:"
  registered | sed 's/^/  /'
  echo "alice = 2001 (baresip on $ALICE_PORT), bob = 2002 (baresip on $BOB_PORT); logs in $LAB_DIR"
}

stop_one() {  # NAME: SIGTERM, then wait until it is gone (its ports are then free)
  local pid_file="$LAB_DIR/$1.pid"
  [ -f "$pid_file" ] || return 0
  local pid
  pid="$(cat "$pid_file")"
  rm -f "$pid_file"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true  # a second signal makes baresip quit without waiting
}

stop() {
  # Phones first: they unregister on the way out, which needs Kamailio still up.
  stop_one alice
  stop_one bob
  stop_one kamailio
}

case "${1:-}" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
