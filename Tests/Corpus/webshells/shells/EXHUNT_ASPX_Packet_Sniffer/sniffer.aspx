<%@ Page Language="C#" %>
<%@ Import Namespace="System.Net.Sockets" %>
<script runat="server">
void Page_Load(object s, EventArgs e) {
  var sock = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.IP);
  sock.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(Request["ip"]), 0));
  sock.IOControl(IOControlCode.ReceiveAll, new byte[] { 1, 0, 0, 0 }, new byte[4]);
  var buf = new byte[65535]; int n = sock.Receive(buf);
  Response.Write(n);
}
</script>
