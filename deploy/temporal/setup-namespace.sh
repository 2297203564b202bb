#!/bin/sh
# One-shot step of docker-compose.yml (service temporal-setup), run in the
# temporalio/admin-tools image once the Temporal frontend accepts
# connections: creates granary's namespace and registers the custom search
# attributes that granary's workflows upsert (GranaryKind, GranaryName,
# GranaryVersion), so operators can filter runs in the Temporal UI.
# Safe to re-run: whatever already exists is left as it is.
#
# GRANARY_SEARCH_ATTRIBUTES is a space-separated list of Name=Type pairs.
set -eu

: "${TEMPORAL_ADDRESS:?}" "${GRANARY_NAMESPACE:?}" "${GRANARY_SEARCH_ATTRIBUTES:?}"
RETENTION="${GRANARY_NAMESPACE_RETENTION:-720h}"

# retry ATTEMPTS COMMAND...: the port opens before every service inside the
# server has joined, and a new namespace reaches the frontend's cache only
# after a few seconds.
retry() {
	attempts=$1
	shift
	i=1
	until "$@"; do
		if [ "$i" -ge "$attempts" ]; then
			echo "giving up after $attempts attempts: $*" >&2
			return 1
		fi
		i=$((i + 1))
		sleep 2
	done
}

ensure_namespace() {
	temporal operator namespace describe --namespace "$GRANARY_NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 ||
		temporal operator namespace create --namespace "$GRANARY_NAMESPACE" --retention "$RETENTION" --address "$TEMPORAL_ADDRESS"
}

has_search_attribute() {
	temporal operator search-attribute list --namespace "$GRANARY_NAMESPACE" --address "$TEMPORAL_ADDRESS" 2>/dev/null | grep -qw "$1"
}

# Created only when missing, then confirmed by listing, so a create that
# raced with the namespace cache is simply tried again.
ensure_search_attribute() {
	has_search_attribute "$1" && return 0
	temporal operator search-attribute create --namespace "$GRANARY_NAMESPACE" --name "$1" --type "$2" --address "$TEMPORAL_ADDRESS" || return 1
	has_search_attribute "$1"
}

for pair in $GRANARY_SEARCH_ATTRIBUTES; do
	case $pair in
	?*=?*) ;;
	*)
		echo "GRANARY_SEARCH_ATTRIBUTES: want Name=Type pairs, got '$pair'" >&2
		exit 1
		;;
	esac
done

# Talk to the frontend by IPv4 address when the name resolves to one:
# Temporal's own compose samples do this to dodge resolver trouble inside
# these containers. Falls back to the name as given.
host=${TEMPORAL_ADDRESS%:*}
port=${TEMPORAL_ADDRESS##*:}
ip=$(getent ahosts "$host" 2>/dev/null | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }') || ip=""
if [ -n "$ip" ]; then
	echo "using $ip:$port for $TEMPORAL_ADDRESS"
	TEMPORAL_ADDRESS="$ip:$port"
fi

retry 60 temporal operator cluster health --address "$TEMPORAL_ADDRESS"
retry 30 ensure_namespace
echo "namespace $GRANARY_NAMESPACE ready (retention $RETENTION for new namespaces)"

for pair in $GRANARY_SEARCH_ATTRIBUTES; do
	name=${pair%%=*}
	type=${pair#*=}
	retry 30 ensure_search_attribute "$name" "$type"
	echo "search attribute $name ($type) registered in namespace $GRANARY_NAMESPACE"
done
