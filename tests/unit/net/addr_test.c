/* The SSRF guard's address classes and allow-list: every refused form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "loupe/net/addr.h"
#include "loupe/net/client.h"

static lp_net_class class_of(const char *text)
{
    lp_net_ip ip;
    assert_int_equal(lp_net_ip_parse(text, &ip), 0);
    return lp_net_classify(&ip);
}

static void test_ipv4_classes(void **state)
{
    (void)state;
    assert_int_equal(class_of("127.0.0.1"), LP_NET_LOOPBACK);
    assert_int_equal(class_of("127.255.255.254"), LP_NET_LOOPBACK);
    assert_int_equal(class_of("10.1.2.3"), LP_NET_PRIVATE);
    assert_int_equal(class_of("172.16.0.1"), LP_NET_PRIVATE);
    assert_int_equal(class_of("172.31.255.255"), LP_NET_PRIVATE);
    assert_int_equal(class_of("172.32.0.1"), LP_NET_PUBLIC);
    assert_int_equal(class_of("192.168.1.1"), LP_NET_PRIVATE);
    assert_int_equal(class_of("169.254.1.1"), LP_NET_LINK_LOCAL);
    assert_int_equal(class_of("169.254.169.254"), LP_NET_METADATA);
    assert_int_equal(class_of("169.254.170.2"), LP_NET_METADATA);
    assert_int_equal(class_of("100.100.100.200"), LP_NET_METADATA);
    assert_int_equal(class_of("100.64.0.1"), LP_NET_CGNAT);
    assert_int_equal(class_of("100.127.255.255"), LP_NET_CGNAT);
    assert_int_equal(class_of("100.128.0.1"), LP_NET_PUBLIC);
    assert_int_equal(class_of("224.0.0.1"), LP_NET_MULTICAST);
    assert_int_equal(class_of("239.255.255.250"), LP_NET_MULTICAST);
    assert_int_equal(class_of("0.0.0.0"), LP_NET_UNSPECIFIED);
    assert_int_equal(class_of("0.1.2.3"), LP_NET_UNSPECIFIED);
    assert_int_equal(class_of("240.0.0.1"), LP_NET_RESERVED);
    assert_int_equal(class_of("255.255.255.255"), LP_NET_RESERVED);
    assert_int_equal(class_of("192.0.2.1"), LP_NET_RESERVED);
    assert_int_equal(class_of("198.18.0.1"), LP_NET_RESERVED);
    assert_int_equal(class_of("198.51.100.7"), LP_NET_RESERVED);
    assert_int_equal(class_of("203.0.113.9"), LP_NET_RESERVED);
    assert_int_equal(class_of("192.0.0.8"), LP_NET_RESERVED);
    assert_int_equal(class_of("8.8.8.8"), LP_NET_PUBLIC);
    assert_int_equal(class_of("93.184.216.34"), LP_NET_PUBLIC);
}

static void test_ipv6_classes(void **state)
{
    (void)state;
    assert_int_equal(class_of("::1"), LP_NET_LOOPBACK);
    assert_int_equal(class_of("[::1]"), LP_NET_LOOPBACK);
    assert_int_equal(class_of("::"), LP_NET_UNSPECIFIED);
    assert_int_equal(class_of("fe80::1"), LP_NET_LINK_LOCAL);
    assert_int_equal(class_of("fc00::1"), LP_NET_PRIVATE);
    assert_int_equal(class_of("fd12:3456::1"), LP_NET_PRIVATE);
    assert_int_equal(class_of("fec0::1"), LP_NET_PRIVATE);
    assert_int_equal(class_of("ff02::1"), LP_NET_MULTICAST);
    assert_int_equal(class_of("fd00:ec2::254"), LP_NET_METADATA);
    assert_int_equal(class_of("2001:db8::1"), LP_NET_RESERVED);
    assert_int_equal(class_of("100::1"), LP_NET_RESERVED);
    assert_int_equal(class_of("2001::1"), LP_NET_RESERVED); /* Teredo */
    assert_int_equal(class_of("4000::1"), LP_NET_RESERVED); /* outside 2000::/3 */
    assert_int_equal(class_of("2606:4700::1111"), LP_NET_PUBLIC);
    /* IPv4 carried in IPv6: judged by the IPv4 address */
    assert_int_equal(class_of("::ffff:127.0.0.1"), LP_NET_LOOPBACK);
    assert_int_equal(class_of("::ffff:7f00:1"), LP_NET_LOOPBACK);
    assert_int_equal(class_of("::ffff:169.254.169.254"), LP_NET_METADATA);
    assert_int_equal(class_of("::ffff:10.0.0.1"), LP_NET_PRIVATE);
    assert_int_equal(class_of("::127.0.0.1"), LP_NET_LOOPBACK);
    assert_int_equal(class_of("64:ff9b::a00:1"), LP_NET_PRIVATE);
    assert_int_equal(class_of("2002:7f00:1::"), LP_NET_LOOPBACK);
    assert_int_equal(class_of("::ffff:8.8.8.8"), LP_NET_PUBLIC);
}

static void test_mapped_address_becomes_ipv4(void **state)
{
    lp_net_ip ip;
    char text[64];
    (void)state;
    assert_int_equal(lp_net_ip_parse("::ffff:127.0.0.1", &ip), 0);
    assert_int_equal(ip.family, AF_INET);
    lp_net_ip_format(&ip, text, sizeof(text));
    assert_string_equal(text, "127.0.0.1");
    assert_int_equal(lp_net_ip_parse("2130706433", &ip), -1); /* not a literal here: resolved elsewhere */
    assert_int_equal(lp_net_ip_parse("example.com", &ip), -1);
}

static void test_allowlist(void **state)
{
    lp_net_allowlist l;
    lp_net_ip ip;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_net_allowlist_parse("", &l, &err), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(lp_net_allowlist_parse(" 127.0.0.2/32 , 10.0.0.0/8,fd00::/8,::1", &l, &err), 0);
    assert_int_equal(l.n, 4);
    lp_net_ip_parse("127.0.0.2", &ip);
    assert_int_equal(lp_net_allowlist_contains(&l, &ip), 1);
    assert_int_equal(lp_net_ip_check(&l, &ip, &err), 0);
    lp_net_ip_parse("::ffff:127.0.0.2", &ip);
    assert_int_equal(lp_net_allowlist_contains(&l, &ip), 1);
    lp_net_ip_parse("127.0.0.1", &ip);
    assert_int_equal(lp_net_allowlist_contains(&l, &ip), 0);
    assert_int_equal(lp_net_ip_check(&l, &ip, &err), -1);
    assert_int_equal(err.code, LP_E_FORBIDDEN);
    assert_string_equal(err.message, "address 127.0.0.1 is not allowed (loopback)");
    lp_net_ip_parse("10.200.1.1", &ip);
    assert_int_equal(lp_net_allowlist_contains(&l, &ip), 1);
    lp_net_ip_parse("fd99::1", &ip);
    assert_int_equal(lp_net_allowlist_contains(&l, &ip), 1);
    lp_net_ip_parse("::1", &ip);
    assert_int_equal(lp_net_allowlist_contains(&l, &ip), 1);

    lp_error_clear(&err);
    assert_int_equal(lp_net_allowlist_parse("127.0.0.1/33", &l, &err), -1);
    assert_string_equal(err.fields[0].field, "net_allow");
    lp_error_clear(&err);
    assert_int_equal(lp_net_allowlist_parse("localhost", &l, &err), -1);
    lp_error_clear(&err);
    assert_int_equal(lp_net_allowlist_parse("10.0.0.0/x", &l, &err), -1);
}

/* URLs: each refused form, resolving numeric hosts and names like a fetch would. */
static void expect_refused(const lp_net_policy *p, const char *url, lp_code code, const char *message)
{
    lp_error err;
    lp_error_clear(&err);
    if (lp_net_url_check(p, url, 1, &err) != -1)
        fail_msg("%s was accepted", url);
    assert_int_equal(err.code, code);
    if (message && !strstr(err.message, message))
        fail_msg("%s: \"%s\" does not say \"%s\"", url, err.message, message);
}

static void test_url_refusals(void **state)
{
    lp_net_allowlist allow;
    lp_error err;
    lp_net_policy p = {.allow = &allow, .allow_http = 1, .max_redirects = 3, .timeout_ms = 1000};
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_net_allowlist_parse("127.0.0.2/32", &allow, &err), 0);

    expect_refused(&p, "http://127.0.0.1/", LP_E_FORBIDDEN, "address 127.0.0.1 is not allowed (loopback)");
    expect_refused(&p, "http://2130706433/", LP_E_FORBIDDEN, "address 127.0.0.1 is not allowed (loopback)");
    expect_refused(&p, "http://0x7f000001/", LP_E_FORBIDDEN, "address 127.0.0.1 is not allowed (loopback)");
    expect_refused(&p, "http://017700000001/", LP_E_FORBIDDEN, "address 127.0.0.1 is not allowed (loopback)");
    expect_refused(&p, "http://127.1/", LP_E_FORBIDDEN, "(loopback)");
    expect_refused(&p, "http://[::1]:8080/", LP_E_FORBIDDEN, "address ::1 is not allowed (loopback)");
    expect_refused(&p, "http://[::ffff:127.0.0.1]/", LP_E_FORBIDDEN, "address 127.0.0.1 is not allowed (loopback)");
    expect_refused(&p, "http://[::ffff:7f00:1]/", LP_E_FORBIDDEN, "(loopback)");
    expect_refused(&p, "http://localhost:9/", LP_E_FORBIDDEN, "(loopback)");
    expect_refused(&p, "http://169.254.169.254/latest/meta-data/", LP_E_FORBIDDEN, "(cloud metadata)");
    expect_refused(&p, "http://[fd00:ec2::254]/", LP_E_FORBIDDEN, "(cloud metadata)");
    expect_refused(&p, "http://10.0.0.1/", LP_E_FORBIDDEN, "(private)");
    expect_refused(&p, "http://192.168.0.1/", LP_E_FORBIDDEN, "(private)");
    expect_refused(&p, "http://172.20.0.1/", LP_E_FORBIDDEN, "(private)");
    expect_refused(&p, "http://[fc00::1]/", LP_E_FORBIDDEN, "(private)");
    expect_refused(&p, "http://169.254.0.1/", LP_E_FORBIDDEN, "(link-local)");
    expect_refused(&p, "http://[fe80::1]/", LP_E_FORBIDDEN, "(link-local)");
    expect_refused(&p, "http://100.64.1.1/", LP_E_FORBIDDEN, "(carrier-grade NAT)");
    expect_refused(&p, "http://224.0.0.1/", LP_E_FORBIDDEN, "(multicast)");
    expect_refused(&p, "http://[ff02::1]/", LP_E_FORBIDDEN, "(multicast)");
    expect_refused(&p, "http://0.0.0.0/", LP_E_FORBIDDEN, "(unspecified)");
    expect_refused(&p, "http://0/", LP_E_FORBIDDEN, "(unspecified)");
    expect_refused(&p, "http://[::]/", LP_E_FORBIDDEN, "(unspecified)");
    expect_refused(&p, "http://240.0.0.1/", LP_E_FORBIDDEN, "(reserved)");
    expect_refused(&p, "http://255.255.255.255/", LP_E_FORBIDDEN, "(reserved)");
    expect_refused(&p, "http://[2001:db8::1]/", LP_E_FORBIDDEN, "(reserved)");
    expect_refused(&p, "http://user:pw@127.0.0.2/", LP_E_INVALID, "credentials");
    expect_refused(&p, "http://user@127.0.0.2/", LP_E_INVALID, "credentials");
    expect_refused(&p, "ftp://127.0.0.2/", LP_E_INVALID, "scheme ftp is not allowed");
    expect_refused(&p, "file:///etc/passwd", LP_E_INVALID, NULL);
    expect_refused(&p, "gopher://127.0.0.2/", LP_E_INVALID, NULL);
    expect_refused(&p, "not a url", LP_E_INVALID, NULL);
    p.allow_http = 0;
    expect_refused(&p, "http://127.0.0.2/", LP_E_INVALID, "only https");

    p.allow_http = 1;
    lp_error_clear(&err);
    assert_int_equal(lp_net_url_check(&p, "http://127.0.0.2:8080/hook", 1, &err), 0);
    assert_int_equal(lp_net_url_check(&p, "https://127.0.0.2/hook", 1, &err), 0);
    /* Without resolving, a name passes the syntax check; resolving refuses it. */
    assert_int_equal(lp_net_url_check(&p, "http://localhost/", 0, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_classes),         cmocka_unit_test(test_ipv6_classes),
        cmocka_unit_test(test_mapped_address_becomes_ipv4), cmocka_unit_test(test_allowlist),
        cmocka_unit_test(test_url_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
