"""Prototype trawl stream job: Kinesis (moto) -> validate -> dedupe -> MongoDB bulk upsert.
Kinesis is read by a pure-Python keyed poller (no released connector runs on Flink 2.3 here)."""
import argparse, json, os, sys, time
from pyflink.common import Configuration, Types, Time
from pyflink.datastream import StreamExecutionEnvironment, KeyedProcessFunction, RuntimeContext, \
    FlatMapFunction, MapFunction
from pyflink.datastream.state import ValueStateDescriptor, StateTtlConfig
from pyflink.table import StreamTableEnvironment

p = argparse.ArgumentParser()
p.add_argument("--stream", default="s1")
p.add_argument("--endpoint", default="http://127.0.0.1:45123")
p.add_argument("--mongo", default="mongodb://127.0.0.1:45124")
p.add_argument("--db", default="proto")
p.add_argument("--ckpt", default="/tmp/flinkproto/ckpt")
p.add_argument("--restore", default=None)
p.add_argument("--parallelism", type=int, default=1)
p.add_argument("--ticks", type=int, default=20, help="poll ticks per second (whole job)")
p.add_argument("--interval", default="2s")
p.add_argument("--limit", type=int, default=1000)
p.add_argument("--unaligned", action="store_true")
p.add_argument("--sink", default="mongo", choices=["mongo", "null"])
p.add_argument("--bundle-size", default=None)
p.add_argument("--flush", default="bundle", choices=["bundle", "none"])
a = p.parse_args()

def kclient(ep):
    import boto3
    return boto3.client("kinesis", endpoint_url=ep, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")

class TickToShards(FlatMapFunction):
    def __init__(self, stream, ep): self.stream, self.ep = stream, ep
    def open(self, ctx):
        self.c = kclient(self.ep); self.shards = []; self.t = 0
    def flat_map(self, tick):
        if time.time() - self.t > 10:   # shard discovery every 10 s
            self.shards = [s["ShardId"] for s in self.c.list_shards(StreamName=self.stream)["Shards"]]
            self.t = time.time()
        for s in self.shards:
            yield s

class ShardReader(KeyedProcessFunction):
    """keyed by shard id; the last sequence number read is Flink keyed state -> checkpointed
    together with everything downstream (exactly-once source offsets)."""
    def __init__(self, stream, ep, limit): self.stream, self.ep, self.limit = stream, ep, limit
    def open(self, ctx: RuntimeContext):
        self.seq = ctx.get_state(ValueStateDescriptor("seq", Types.STRING()))
        self.c = kclient(self.ep); self.iters = {}
    def process_element(self, shard, ctx):
        seq = self.seq.value()
        cached = self.iters.get(shard)
        if cached and cached[1] == seq:
            it = cached[0]
        elif seq is None:
            it = self.c.get_shard_iterator(StreamName=self.stream, ShardId=shard,
                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        else:
            it = self.c.get_shard_iterator(StreamName=self.stream, ShardId=shard,
                                           ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                           StartingSequenceNumber=seq)["ShardIterator"]
        r = self.c.get_records(ShardIterator=it, Limit=self.limit)
        last = seq
        for rec in r["Records"]:
            last = rec["SequenceNumber"]
            yield rec["Data"].decode()
        if last != seq:
            self.seq.update(last)
        if os.environ.get("READER_LOG") and last != seq:
            with open(os.environ["READER_LOG"], "a") as f:
                f.write(f"{shard} {seq} {last} {len(r['Records'])} {ctx.get_current_key()} cached={bool(cached and cached[1]==seq)}\n")
        self.iters[shard] = (r.get("NextShardIterator"), last)

class Validate(FlatMapFunction):
    def flat_map(self, s):
        try:
            d = json.loads(s)
            if isinstance(d.get("id"), str) and isinstance(d.get("n"), int):
                yield (d["id"], d["run"], d["n"], s)
        except Exception:
            pass  # -> dead letter in the real job

class Dedupe(KeyedProcessFunction):
    def open(self, ctx):
        d = ValueStateDescriptor("seen", Types.BOOLEAN())
        d.enable_time_to_live(StateTtlConfig.new_builder(Time.hours(6)).build())
        self.seen = ctx.get_state(d)
    def process_element(self, v, ctx):
        if self.seen.value():
            return
        self.seen.update(True)
        yield v

class MongoSink(MapFunction):
    def __init__(self, uri, db, mode): self.uri, self.db, self.mode = uri, db, mode
    def open(self, ctx):
        import pymongo
        self.pm = pymongo
        self.coll = pymongo.MongoClient(self.uri)[self.db]["records"]
        self.log = self.pymongo_log = pymongo.MongoClient(self.uri)[self.db]["flushes"]
        self.buf = []
        import threading
        self.lock = threading.Lock()   # one Python worker runs several operators' bundles in threads
        if self.mode == "bundle":
            import flushhook
            flushhook.install(self.flush)
    def flush(self):
        with self.lock:
            buf, self.buf = self.buf, []
            if buf:
                self._write(buf)
    def _write(self, buf):
        if SINK == "null":
            self.log.update_one({"_id": "count"}, {"$inc": {"n": len(buf)}}, upsert=True)
            return
        ops = [self.pm.UpdateOne({"_id": rid}, {"$set": {"run": run, "n": n, "raw": raw},
                                               "$inc": {"writes": 1}}, upsert=True)
               for rid, run, n, raw in buf]
        self.coll.bulk_write(ops, ordered=False)
    def map(self, v):
        with self.lock:
            self.buf.append(v)
            full = len(self.buf) >= 2000 or self.mode == "none"
        if full:
            self.flush()
        return 1
    def close(self):
        self.flush()

t0 = time.time()
SINK = a.sink
if a.bundle_size:
    pass
conf = Configuration()
conf.set_string("execution.checkpointing.interval", a.interval)
conf.set_string("execution.checkpointing.dir", "file://" + a.ckpt)
conf.set_string("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
conf.set_string("execution.checkpointing.num-retained", "3")
conf.set_string("state.backend.type", "hashmap")
conf.set_string("python.fn-execution.bundle.time", "500")
if a.bundle_size:
    conf.set_string("python.fn-execution.bundle.size", a.bundle_size)
if a.unaligned:
    conf.set_string("execution.checkpointing.unaligned.enabled", "true")
if a.restore:
    conf.set_string("execution.state-recovery.path", a.restore)
env = StreamExecutionEnvironment.get_execution_environment(conf)
env.set_python_executable(sys.executable)
env.add_python_file(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'flushhook.py'))
env.set_parallelism(a.parallelism)
tenv = StreamTableEnvironment.create(env)
tenv.execute_sql(f"CREATE TABLE ticks (t BIGINT) WITH ('connector'='datagen', 'rows-per-second'='{a.ticks}')")
ticks = tenv.to_data_stream(tenv.from_path("ticks"))
(ticks.flat_map(TickToShards(a.stream, a.endpoint), Types.STRING()).uid("shards")
 .key_by(lambda s: s, Types.STRING())
 .process(ShardReader(a.stream, a.endpoint, a.limit), Types.STRING()).uid("reader")
 .flat_map(Validate(), Types.TUPLE([Types.STRING(), Types.STRING(), Types.LONG(), Types.STRING()])).uid("validate")
 .key_by(lambda v: v[0], Types.STRING())
 .process(Dedupe(), Types.TUPLE([Types.STRING(), Types.STRING(), Types.LONG(), Types.STRING()])).uid("dedupe")
 .map(MongoSink(a.mongo, a.db, a.flush), Types.INT()).uid("mongo"))
client = env.execute_async("trawl-proto")
print(f"SUBMITTED job={client.get_job_id()} after {time.time()-t0:.1f}s", flush=True)
while True:
    time.sleep(1)
