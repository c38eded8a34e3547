<%@ Page Language="C#" %>
<%@ Import Namespace="System.Net.Sockets" %>
<script runat="server">
void Page_Load(object s, EventArgs e) {
  using (var t = new TcpClient()) {
    var ok = t.ConnectAsync("smtp.internal", 25).Wait(2000);
    state.Text = ok ? "SMTP reachable" : "SMTP down";
  }
}
</script>
<asp:Label id="state" runat="server"/>
