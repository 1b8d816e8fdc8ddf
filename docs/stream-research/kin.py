"""helper: create stream + put N JSON records into moto kinesis"""
import boto3, json, sys, time, os
EP = os.environ.get("EP", "http://127.0.0.1:45123")
def client():
    return boto3.client("kinesis", endpoint_url=EP, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")
def create(name, shards=2):
    c = client()
    try:
        c.create_stream(StreamName=name, ShardCount=shards)
    except c.exceptions.ResourceInUseException:
        pass
    c.get_waiter("stream_exists").wait(StreamName=name)
def put(name, start, n, run="r1", batch=500):
    c = client()
    for b in range(start, start + n, batch):
        recs = [{"Data": json.dumps({"id": f"rec-{i}", "run": run, "n": i, "payload": "x" * 50}).encode(),
                 "PartitionKey": f"rec-{i}"} for i in range(b, min(b + batch, start + n))]
        r = c.put_records(StreamName=name, Records=recs)
        assert r["FailedRecordCount"] == 0
if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "create": create(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    elif cmd == "put": put(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
