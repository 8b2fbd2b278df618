/* test_cli.c - the words of the command line: near misses of commands, and explain's topics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "analyzer/commands.h"

Test(cli, near_misses_of_commands)
{
	cr_assert_str_eq(cli_near_command("anaylze"), "analyze");
	cr_assert_str_eq(cli_near_command("reprot"), "report");
	cr_assert_str_eq(cli_near_command("analyse"), "analyze");
	cr_assert_str_eq(cli_near_command("merg"), "merge");
	cr_assert_str_eq(cli_near_command("hlep"), "help");
	cr_assert_str_eq(cli_near_command("EXPLIAN"), "explain");
	cr_assert_str_eq(cli_near_command("evnts"), "events");
}

Test(cli, captures_are_not_commands)
{
	cr_assert_null(cli_near_command("capture.pcap"), "far from every command");
	cr_assert_null(cli_near_command("-"), "standard input");
	cr_assert_null(cli_near_command("--db"), "an option");
	cr_assert_null(cli_near_command("./report"), "a path");
	cr_assert_null(cli_near_command(""));
	cr_assert_null(cli_near_command("traceroute"));
	/* a file named like a near miss is a capture */
	char dir[] = "/tmp/pm-cli-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char old[4096];
	cr_assert_not_null(getcwd(old, sizeof old));
	cr_assert_eq(chdir(dir), 0);
	FILE *f = fopen("reprot", "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_null(cli_near_command("reprot"));
	cr_assert_str_eq(cli_near_command("reportt"), "report");
	unlink("reprot");
	cr_assert_eq(chdir(old), 0);
	rmdir(dir);
}

Test(cli, command_names)
{
	cr_assert_eq(cli_command_by_name("merge"), CMD_MERGE);
	cr_assert_eq(cli_command_by_name("help"), CMD_HELP);
	cr_assert_eq(cli_command_by_name("Merge"), -1, "commands are exact words");
	cr_assert_str_eq(cli_command_name(CMD_EVENTS), "events");
}

/* Labels as people type them; an unknown topic is refused (main then lists the entries). */
Test(cli, explain_topics)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	cr_assert_eq(kb_explain_topic("service down", out), 0);
	cr_assert_eq(kb_explain_topic("  Wrong_Port ", out), 0);
	cr_assert_eq(kb_explain_topic("no such thing", out), -1);
	fclose(out);
	cr_assert(strstr(buf, "service-down: service down") != NULL, "%s", buf);
	cr_assert(strstr(buf, "wrong-port:") != NULL);
	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &len);
	cr_assert_eq(kb_explain_list(out), 0);
	fclose(out);
	cr_assert(strstr(buf, "  firewall-reject ") != NULL, "%s", buf);
	cr_assert(strstr(buf, "  dns ") != NULL && strstr(buf, " 53 ") != NULL, "%s", buf);
	cr_assert(strstr(buf, "  syslog ") != NULL && strstr(buf, " 514 ") != NULL, "%s", buf);
	free(buf);
}
