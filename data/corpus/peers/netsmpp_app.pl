#!/usr/bin/perl
# A small Perl Net::SMPP application for the doctor's corpus (run by data/corpus/make.py).
#
#   perl netsmpp_app.pl HOST PORT LOG MODE COUNT TO [REGISTERED_DELIVERY]
#
# MODE: tx      bind a transmitter only and wait for receipts that cannot come
#       txrx    a transmitter and a receiver; the receiver answers deliver_sm and enquire_link
#       mute    like txrx, but the receiver never answers the SMSC's enquire_link
# It logs its own lines (no PDU dumps): what a Perl application's log usually holds.
use strict;
use warnings;
use Net::SMPP;
use IO::Select;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);

my ($host, $port, $logfile, $mode, $count, $to, $rd) = @ARGV;
$rd = 1 unless defined $rd;
open(my $log, '>', $logfile) or die "cannot write $logfile: $!";
$log->autoflush(1);

sub say_log {
    my ($level, $text) = @_;
    my $t = time;
    my $stamp = strftime("%Y-%m-%d %H:%M:%S", gmtime($t)) . sprintf(",%03d", ($t - int($t)) * 1000);
    print $log "$stamp $level netsmpp $text\n";
}

say_log("INFO", "connecting to $host:$port as transmitter");
my $tx = Net::SMPP->new_transmitter($host, port => $port, system_id => 'smppkit',
                                    password => 'secret') or die "bind_transmitter failed";
say_log("INFO", "bound transmitter to $host:$port");
my $rx;
if ($mode ne 'tx') {
    $rx = Net::SMPP->new_receiver($host, port => $port, system_id => 'smppkit',
                                  password => 'secret') or die "bind_receiver failed";
    say_log("INFO", "bound receiver to $host:$port");
}
my %sent;
my @numbers = split /,/, $to;
for my $n (0 .. $count - 1) {
    my $dest = $numbers[$n % @numbers];
    my $resp = $tx->submit_sm(source_addr => 'smppkit', destination_addr => $dest,
                              short_message => "hello from perl $n", registered_delivery => $rd);
    if (!$resp || $resp->{status}) {
        say_log("ERROR", "submit_sm to $dest refused: status " . ($resp ? $resp->{status} : 'none'));
        next;
    }
    $sent{$resp->{message_id}} = $dest;
    say_log("INFO", "submit_sm to $dest accepted, message id $resp->{message_id}");
}
say_log("INFO", "waiting for delivery receipts of " . scalar(keys %sent) . " messages");
my $until = time + 6;
my $sel = IO::Select->new(grep { defined } $tx, $rx);
READ: while (time < $until) {
    for my $conn ($sel->can_read(0.2)) {
        my $pdu = $conn->read_pdu();
        if (!$pdu) { $sel->remove($conn); last READ unless $sel->count; next; }
        if ($pdu->{cmd} == 0x00000005) {  # deliver_sm
            my ($id) = ($pdu->{short_message} // '') =~ /id:(\S+)/;
            my ($stat) = ($pdu->{short_message} // '') =~ /stat:(\S+)/;
            $conn->deliver_sm_resp(seq => $pdu->{seq}, message_id => '');
            if (defined $id && exists $sent{$id}) {
                say_log("INFO", "DLR for message $id: $stat");
                delete $sent{$id};
            } else {
                say_log("WARNING", "DLR for unknown message " . ($id // '?'));
            }
        } elsif ($pdu->{cmd} == 0x00000015) {  # enquire_link
            if ($mode eq 'mute') {
                say_log("DEBUG", "enquire_link from the SMSC (not answered)");
            } else {
                $conn->enquire_link_resp(seq => $pdu->{seq});
            }
        } elsif ($pdu->{cmd} == 0x00000006) {  # unbind
            say_log("WARNING", "the SMSC unbound a bind");
            $conn->unbind_resp(seq => $pdu->{seq});
            $sel->remove($conn);
            last READ unless $sel->count;
        }
    }
}
for my $id (sort keys %sent) {
    say_log("WARNING", "no delivery receipt for message $id");
}
for my $conn (grep { defined } $tx, $rx) {
    eval { $conn->unbind(async => 1); 1 } if $conn->connected;
}
say_log("INFO", "done");
