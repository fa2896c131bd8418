# bench/counts.sh - sourced by bench/run.sh and bench/linux.sh: the "counters" lines that
# vmm386 writes to its -d stats log when the guest brackets a benchmark with its counters
# port (monitor/counters.c): "counters NAME OPS key=N ... exit.KIND=N ...", raw deltas.
#
#   load_counts TAG FILE        read FILE's lines into CNT[TAG,NAME,key] (and CNT[TAG,NAME,ops])
#   counts_cell TAG NAME KEY    that count per operation (2-3 significant figures), or n/a
#   kinds_cell TAG NAME         the exit kinds that make up at least 5% of the row's exits,
#                               per operation ("-" under 0.01 exits per operation)
declare -A CNT

load_counts() {
	local tag=$1 f=$2 name ops rest kv
	[ -f "$f" ] || return 0
	while read -r _ name ops rest; do
		CNT[$tag,$name,ops]=$ops
		for kv in $rest; do CNT[$tag,$name,${kv%%=*}]=${kv#*=}; done
	done < <(grep -E '^counters [a-z0-9]+ [0-9]+ ' "$f")
}

per_op() { # per_op <count> <ops>
	awk -v x="${1:-}" -v n="${2:-}" 'BEGIN {
		if (x == "" || n == "" || n + 0 <= 0) { print "n/a"; exit }
		v = x / n
		if (v == 0) print "0"; else if (v >= 100) printf "%.0f\n", v; else if (v >= 1) printf "%.2f\n", v
		else printf "%.3f\n", v }'
}

counts_cell() { per_op "${CNT[$1,$2,$3]:-}" "${CNT[$1,$2,ops]:-}"; }

kinds_cell() {
	local c=$1 n=$2 k v out="" tot=${CNT[$1,$2,exits]:-0}
	[ -n "${CNT[$c,$n,ops]:-}" ] || { echo "n/a"; return; }
	[ $((tot * 100)) -ge "${CNT[$c,$n,ops]}" ] || { echo "-"; return; }
	for k in block-exit exit-request monitor-call mmio adaptive-call sreg-cache-miss \
		 ring-cache-miss exception guest-pf fetch-pf smc-store pt-write halt-or-stop; do
		v=${CNT[$c,$n,exit.$k]:-0}
		[ "$v" -gt 0 ] && [ $((v * 20)) -ge "$tot" ] || continue
		out+="${out:+, }$k $(per_op "$v" "${CNT[$c,$n,ops]}")"
	done
	echo "${out:--}"
}
