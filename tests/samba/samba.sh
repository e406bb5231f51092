#!/usr/bin/env bash
# samrpc's real test servers: one Samba AD DC and four standalone Samba servers on loopback.
#
#   tests/samba/samba.sh up                      install (if needed), provision and start all servers
#   tests/samba/samba.sh down                    stop the servers this script started (by pid file)
#   tests/samba/samba.sh status                  show each server; exit 1 if one is down
#   tests/samba/samba.sh add-user SERVER NAME PASSWORD [--must-change]
#                                                create (or re-create) an account; SERVER is an
#                                                address below or "dc"
#   tests/samba/samba.sh check-login SERVER NAME PASSWORD
#                                                exit 0 if NAME can log in with PASSWORD
#   tests/samba/samba.sh install                 only install Samba 4.22+ and tshark
#   tests/samba/samba.sh krb5-conf               (re)write $STATE/krb5.conf for the DC's realm
#                                                (KRB5_CONFIG for the Kerberos tests; `up` does it)
#   tests/samba/samba.sh group-add GROUP NAME    add a DC account to a group (e.g. "Protected Users")
#
# Servers (all on loopback, port 445):
#   127.0.0.1  AD DC, realm SAMR.TEST, NetBIOS domain SAMR (min password age 0, history 0)
#   127.0.0.2  standalone, default settings                              (NetBIOS name SRV2)
#   127.0.0.3  standalone, signing mandatory, SMB3 encryption required   (SRV3)
#   127.0.0.4  standalone, max protocol SMB2_10, signing mandatory       (SRV4)
#   127.0.0.5  standalone, max protocol SMB3_00, signing mandatory       (SRV5)
#   127.0.0.6  standalone, max protocol SMB2_02, signing not required    (SRV6; the
#              downgrade-policy tests: an old server samrpc refuses by default)
#
# The administrator of every server is "Administrator" with the password in
# $STATE/admin-password (on standalone servers "Administrator" is mapped to root).
# Check that a password works:  rpcclient -U 'DOMAIN\user%password' 127.0.0.N -c getusername
#
# State lives under $SAMRPC_SAMBA_DIR (default /tmp/samrpc-samba). Idempotent: running `up`
# twice leaves running servers alone. Runs as root (it installs packages and starts smbd).
set -euo pipefail

STATE=${SAMRPC_SAMBA_DIR:-/tmp/samrpc-samba}
ADMIN_PASSWORD_DEFAULT='Samrpc-Admin-2026!'
STANDALONE=(2 3 4 5 6)

log() { printf '[samba.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

admin_password() {
    if [[ -f $STATE/admin-password ]]; then cat "$STATE/admin-password"; else echo "$ADMIN_PASSWORD_DEFAULT"; fi
}

samba_version_ok() {
    command -v samba >/dev/null 2>&1 && command -v smbd >/dev/null 2>&1 \
        && command -v rpcclient >/dev/null 2>&1 && command -v samba-tool >/dev/null 2>&1 || return 1
    local v
    v=$(smbd --version | sed -n 's/^Version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
    read -r major minor <<<"$v"
    [[ -n ${major:-} ]] && (( major > 4 || (major == 4 && minor >= 22) ))
}

cmd_install() {
    if samba_version_ok && command -v tshark >/dev/null 2>&1 && command -v kinit >/dev/null 2>&1; then
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "installing Samba needs root"
    local src=/etc/apt/sources.list.d/debian.sources list=/etc/apt/sources.list.d/samrpc-backports.sources
    if [[ ! -f $list ]]; then
        # Derive the mirror from the machine's own Debian sources; never hard-code a host.
        local uri keyring
        if [[ -f $src ]]; then
            uri=$(awk '/^URIs:/{print $2; exit}' "$src")
            keyring=$(awk '/^Signed-By:/{print $2; exit}' "$src")
        else
            uri=$(awk '$1=="deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list)
            keyring=/usr/share/keyrings/debian-archive-keyring.gpg
        fi
        [[ -n $uri ]] || die "cannot find the Debian mirror in $src"
        log "adding bookworm-backports from $uri"
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' \
            "$uri" "${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}" >"$list"
    fi
    log "installing Samba 4.22 (bookworm-backports) and tshark"
    apt-get update -q >/dev/null
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports \
        samba-ad-dc samba smbclient winbind krb5-user tshark >/dev/null
    # The packages may start system daemons that would occupy port 445; we run our own.
    for svc in samba-ad-dc smbd nmbd winbind; do
        service "$svc" stop >/dev/null 2>&1 || true
    done
    samba_version_ok || die "Samba 4.22+ did not install"
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/$1/445") 2>/dev/null; }

wait_port() {
    local ip=$1 what=$2 pidfile=$3 i
    for i in $(seq 1 120); do
        if port_open "$ip"; then return 0; fi
        pid_alive "$pidfile" || die "$what exited during start-up; see its log under $STATE"
        sleep 0.5
    done
    die "$what did not listen on $ip:445 within 60 s; see its log under $STATE"
}

dc_conf() { echo "$STATE/dc/etc/smb.conf"; }

start_dc() {
    local pidfile=$STATE/dc.pid
    if pid_alive "$pidfile"; then log "DC already running (pid $(cat "$pidfile"))"; return; fi
    if [[ ! -f $(dc_conf) ]]; then
        log "provisioning the AD DC (realm SAMR.TEST, domain SAMR)"
        rm -rf "$STATE/dc"
        mkdir -p "$STATE/dc"
        samba-tool domain provision --targetdir="$STATE/dc" --realm=SAMR.TEST --domain=SAMR \
            --host-name=dc1 --server-role=dc --dns-backend=NONE --use-rfc2307 \
            --option="interfaces=lo" --option="bind interfaces only=yes" \
            --option="log level=1" \
            --adminpass="$(admin_password)" >"$STATE/dc-provision.log" 2>&1 \
            || die "provision failed; see $STATE/dc-provision.log"
        samba-tool domain passwordsettings set -s "$(dc_conf)" --min-pwd-age=0 \
            --history-length=0 >>"$STATE/dc-provision.log" 2>&1 \
            || die "passwordsettings failed; see $STATE/dc-provision.log"
    fi
    log "starting the AD DC on 127.0.0.1"
    setsid samba -s "$(dc_conf)" -i -M single >"$STATE/dc.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    wait_port 127.0.0.1 "the AD DC" "$pidfile"
}

write_standalone_conf() {
    local n=$1 d=$STATE/s$n
    mkdir -p "$d"/{private,lock,state,cache,run,ncalrpc,winbindd,log}
    chmod 700 "$d/private"
    echo "root = Administrator" >"$d/usermap"
    {
        printf '[global]\n'
        printf '  netbios name = SRV%s\n  workgroup = WORKGROUP\n' "$n"
        printf '  server role = standalone server\n'
        printf '  interfaces = 127.0.0.%s/8\n  bind interfaces only = yes\n' "$n"
        printf '  smb ports = 445\n  disable netbios = yes\n'
        printf '  private dir = %s/private\n  lock directory = %s/lock\n' "$d" "$d"
        printf '  state directory = %s/state\n  cache directory = %s/cache\n' "$d" "$d"
        printf '  pid directory = %s/run\n  ncalrpc dir = %s/ncalrpc\n' "$d" "$d"
        printf '  winbindd socket directory = %s/winbindd\n' "$d"
        printf '  passdb backend = tdbsam:%s/private/passdb.tdb\n' "$d"
        printf '  log file = %s/log/log.%%m\n  log level = 1\n  max log size = 10000\n' "$d"
        printf '  username map = %s/usermap\n' "$d"
        printf '  load printers = no\n  printing = bsd\n  printcap name = /dev/null\n'
        printf '  disable spoolss = yes\n  map to guest = never\n  restrict anonymous = 0\n'
        printf '  obey pam restrictions = no\n  unix password sync = no\n'
        case $n in
            3) printf '  server signing = mandatory\n  smb encrypt = required\n  server min protocol = SMB3_00\n' ;;
            4) printf '  server signing = mandatory\n  server max protocol = SMB2_10\n' ;;
            5) printf '  server signing = mandatory\n  server max protocol = SMB3_00\n' ;;
            6) printf '  server signing = disabled\n  server max protocol = SMB2_02\n  server min protocol = SMB2_02\n' ;;
        esac
    } >"$d/smb.conf"
}

standalone_conf() { echo "$STATE/s$1/smb.conf"; }

start_standalone() {
    local n=$1 pidfile=$STATE/s$1.pid
    if pid_alive "$pidfile"; then log "127.0.0.$n already running (pid $(cat "$pidfile"))"; return; fi
    write_standalone_conf "$n"
    # The administrator: root, reachable as "Administrator" through the username map.
    if ! _NO_WINBINDD=1 pdbedit -s "$(standalone_conf "$n")" -u root >/dev/null 2>&1; then
        local pw
        pw=$(admin_password)
        printf '%s\n%s\n' "$pw" "$pw" | _NO_WINBINDD=1 smbpasswd -c "$(standalone_conf "$n")" -a -s root >/dev/null
    fi
    log "starting standalone server 127.0.0.$n"
    _NO_WINBINDD=1 setsid smbd -F --no-process-group -s "$(standalone_conf "$n")" \
        >"$STATE/s$n.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    wait_port "127.0.0.$n" "standalone server 127.0.0.$n" "$pidfile"
}

# A krb5.conf for the DC's realm that needs no DNS (the machine's /etc/krb5.conf is never
# touched): tests point KRB5_CONFIG at it. One key per line, as MIT wants.
cmd_krb5_conf() {
    mkdir -p "$STATE"
    local tmp=$STATE/krb5.conf.tmp
    cat >"$tmp" <<'CONF'
[libdefaults]
    default_realm = SAMR.TEST
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    udp_preference_limit = 1

[realms]
    SAMR.TEST = {
        kdc = 127.0.0.1:88
        kpasswd_server = 127.0.0.1:464
    }

[domain_realm]
    .samr.test = SAMR.TEST
    samr.test = SAMR.TEST
CONF
    mv -f "$tmp" "$STATE/krb5.conf"
}

cmd_group_add() {
    [[ $# -eq 2 ]] || die "usage: group-add GROUP NAME"
    samba-tool group addmembers "$1" "$2" -s "$(dc_conf)" >/dev/null \
        || die "samba-tool group addmembers $1 $2 failed"
}

cmd_up() {
    cmd_install
    mkdir -p "$STATE"
    chmod 700 "$STATE"
    [[ -f $STATE/admin-password ]] || echo "$ADMIN_PASSWORD_DEFAULT" >"$STATE/admin-password"
    cmd_krb5_conf
    start_dc
    for n in "${STANDALONE[@]}"; do start_standalone "$n"; done
    cmd_status
}

cmd_down() {
    local f
    for f in "$STATE"/dc.pid "$STATE"/s*.pid; do
        [[ -f $f ]] || continue
        local pid
        pid=$(cat "$f")
        if kill -0 "$pid" 2>/dev/null; then
            log "stopping $(basename "$f" .pid) (pid $pid)"
            # Each server was started in its own session; end its whole process group.
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        rm -f "$f"
    done
}

cmd_status() {
    local bad=0
    printf '%-10s %-8s %-8s %s\n' SERVER PID PORT ROLE
    local ip pidfile role
    for entry in "127.0.0.1:dc:AD DC SAMR.TEST" "127.0.0.2:s2:standalone default" \
        "127.0.0.3:s3:standalone signing+encryption required" \
        "127.0.0.4:s4:standalone max SMB2_10, signing" "127.0.0.5:s5:standalone max SMB3_00, signing" \
        "127.0.0.6:s6:standalone max SMB2_02, signing not required"; do
        IFS=: read -r ip name role <<<"$entry"
        pidfile=$STATE/$name.pid
        local pid=- port=closed
        if pid_alive "$pidfile"; then pid=$(cat "$pidfile"); else bad=1; fi
        if port_open "$ip"; then port=open; else bad=1; fi
        printf '%-10s %-8s %-8s %s\n' "$ip" "$pid" "$port" "$role"
    done
    if (( bad )); then log "some servers are down: run 'bash tests/samba/samba.sh up'"; fi
    return $bad
}

server_ip() {
    case $1 in
        dc|127.0.0.1) echo 127.0.0.1 ;;
        127.0.0.[2-6]) echo "$1" ;;
        [2-6]) echo "127.0.0.$1" ;;
        *) die "unknown server '$1' (use dc or 127.0.0.1..6)" ;;
    esac
}

cmd_add_user() {
    [[ $# -ge 3 ]] || die "usage: add-user SERVER NAME PASSWORD [--must-change]"
    local ip name=$2 pw=$3 must=${4:-}
    ip=$(server_ip "$1")
    if [[ $ip == 127.0.0.1 ]]; then
        samba-tool user delete "$name" -s "$(dc_conf)" >/dev/null 2>&1 || true
        local extra=()
        [[ $must == --must-change ]] && extra+=(--must-change-at-next-login)
        samba-tool user create "$name" "$pw" -s "$(dc_conf)" "${extra[@]}" >/dev/null \
            || die "samba-tool user create $name failed"
    else
        local n=${ip##*.} conf
        conf=$(standalone_conf "$n")
        [[ -f $conf ]] || die "server $ip is not set up: run 'bash tests/samba/samba.sh up'"
        # A local Unix account. NSS includes winbind, which would find a same-named DC account
        # and make useradd refuse; _NO_WINBINDD keeps the lookup local. Test accounts get no
        # subordinate uid/gid ranges: with many accounts (the load tests) those run out first.
        if ! grep -q "^$name:" /etc/passwd; then
            _NO_WINBINDD=1 useradd -M -N -s /usr/sbin/nologin -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 \
                "$name" >/dev/null 2>&1 \
                || grep -q "^$name:" /etc/passwd || die "useradd $name failed"
        fi
        _NO_WINBINDD=1 pdbedit -s "$conf" -x -u "$name" >/dev/null 2>&1 || true
        printf '%s\n%s\n' "$pw" "$pw" | _NO_WINBINDD=1 smbpasswd -c "$conf" -a -s "$name" >/dev/null \
            || die "smbpasswd -a $name failed"
        if [[ $must == --must-change ]]; then
            _NO_WINBINDD=1 net -s "$conf" sam set pwdmustchangenow "$name" yes >/dev/null \
                || die "net sam set pwdmustchangenow $name failed"
        fi
    fi
    log "user $name ready on $ip"
}

cmd_check_login() {
    [[ $# -eq 3 ]] || die "usage: check-login SERVER NAME PASSWORD"
    local ip
    ip=$(server_ip "$1")
    local dom=WORKGROUP
    [[ $ip == 127.0.0.1 ]] && dom=SAMR
    rpcclient -U "$dom\\$2%$3" "$ip" -c getusername
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    install) cmd_install ;;
    add-user) shift; cmd_add_user "$@" ;;
    check-login) shift; cmd_check_login "$@" ;;
    krb5-conf) cmd_krb5_conf ;;
    group-add) shift; cmd_group_add "$@" ;;
    *) sed -n '2,27p' "$0" >&2; exit 2 ;;
esac
