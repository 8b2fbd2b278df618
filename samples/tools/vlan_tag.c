// SPDX-License-Identifier: GPL-2.0
/*
 * tc-BPF programs that put an 802.1Q tag on every frame leaving a veth and
 * take it off frames arriving with that tag, so that a capture on the veth
 * shows VLAN-tagged frames without the 8021q kernel module.
 *
 *   clang -O2 -target bpf -DVLAN_ID=100 -c vlan_tag.c -o vlan_tag.o
 *   tc qdisc add dev IF clsact
 *   tc filter add dev IF egress  bpf direct-action obj vlan_tag.o sec vlan_push
 *   tc filter add dev IF ingress bpf direct-action obj vlan_tag.o sec vlan_pop
 *
 * The AF_PACKET taps (tcpdump) run after tc egress and before tc ingress, so
 * a capture on IF sees the tag in both directions.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef VLAN_ID
#define VLAN_ID 100
#endif
#ifndef VLAN_PRIO
#define VLAN_PRIO 0
#endif

SEC("vlan_push")
int tc_vlan_push(struct __sk_buff *skb)
{
	if (skb->vlan_present)
		return TC_ACT_OK;
	bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), (VLAN_PRIO << 13) | (VLAN_ID & 0x0fff));
	return TC_ACT_OK;
}

SEC("vlan_pop")
int tc_vlan_pop(struct __sk_buff *skb)
{
	if (skb->vlan_present && (skb->vlan_tci & 0x0fff) == VLAN_ID)
		bpf_skb_vlan_pop(skb);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
